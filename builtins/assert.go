package builtins

import (
	"errors"
	"fmt"
	"regexp"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"
)

// AssertionError is the error of a failed assertion of the assert module
// (assert.eq, assert.fails, ...): a test that fails with it failed, while
// a test that fails with any other error broke. Its message names the
// assertion and shows the values it compared.
type AssertionError struct{ Msg string }

func (e *AssertionError) Error() string { return e.Msg }

// assertModule is the assert module of test files: each function fails
// the test with an *AssertionError at the line of its call.
var assertModule = &starlarkstruct.Module{
	Name: "assert",
	Members: starlark.StringDict{
		"eq":       starlark.NewBuiltin("assert.eq", assertCompare(true)),
		"ne":       starlark.NewBuiltin("assert.ne", assertCompare(false)),
		"true":     starlark.NewBuiltin("assert.true", assertTrue),
		"contains": starlark.NewBuiltin("assert.contains", assertContains),
		"fails":    starlark.NewBuiltin("assert.fails", assertFails),
	},
}

// failed is the error of a failed assertion b, with what, and the
// optional message the test gave, after it.
func failed(b *starlark.Builtin, msg starlark.Value, format string, args ...any) error {
	text := b.Name() + ": " + fmt.Sprintf(format, args...)
	if s, ok := msg.(starlark.String); ok && s != "" {
		text += ": " + string(s)
	} else if msg != nil && msg != starlark.None {
		text += ": " + msg.String()
	}
	return &AssertionError{Msg: text}
}

// comparable turns the list-like values of tests (collect, fake_sink)
// into lists, so that they compare equal to the list of their events.
func comparable(v starlark.Value) starlark.Value {
	if e, ok := v.(*Events); ok {
		return e.snapshot()
	}
	return v
}

// assertCompare implements assert.eq(a, b, msg=None) (equal set) and
// assert.ne(a, b, msg=None).
func assertCompare(equal bool) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var x, y, msg starlark.Value
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "a", &x, "b", &y, "msg?", &msg); err != nil {
			return nil, err
		}
		x, y = comparable(x), comparable(y)
		eq, err := starlark.Equal(x, y)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		switch {
		case equal && !eq:
			return nil, failed(b, msg, "%s != %s", x, y)
		case !equal && eq:
			return nil, failed(b, msg, "%s == %s", x, y)
		}
		return starlark.None, nil
	}
}

// assertTrue implements assert.true(x, msg=None).
func assertTrue(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, msg starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "x", &x, "msg?", &msg); err != nil {
		return nil, err
	}
	if !x.Truth() {
		return nil, failed(b, msg, "%s is not true", x)
	}
	return starlark.None, nil
}

// assertContains implements assert.contains(container, x, msg=None): x in
// container.
func assertContains(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var c, x, msg starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "container", &c, "x", &x, "msg?", &msg); err != nil {
		return nil, err
	}
	c = comparable(c)
	in, err := starlark.Binary(syntax.IN, x, c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	if !in.Truth() {
		return nil, failed(b, msg, "%s not in %s", x, c)
	}
	return starlark.None, nil
}

// assertFails implements assert.fails(fn, pattern, msg=None): fn() must
// fail with an error whose message matches the regular expression
// pattern; it returns that message.
func assertFails(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var fn starlark.Callable
	var pattern string
	var msg starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "fn", &fn, "pattern", &pattern, "msg?", &msg); err != nil {
		return nil, err
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("%s: bad pattern %q: %w", b.Name(), pattern, err)
	}
	_, err = starlark.Call(thread, fn, nil, nil)
	if err == nil {
		return nil, failed(b, msg, "%s did not fail", fn.Name())
	}
	text := err.Error()
	var ee *starlark.EvalError
	if errors.As(err, &ee) {
		text = ee.Msg
	}
	if !re.MatchString(text) {
		return nil, failed(b, msg, "%s failed with %q, which does not match %q", fn.Name(), text, pattern)
	}
	return starlark.String(text), nil
}

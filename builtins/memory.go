package builtins

import (
	"fmt"
	"runtime/metrics"

	"github.com/dustin/go-humanize"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// A script can ask for more memory than the process may have in one
// operation: `[0] * 1000000000` makes a 16 GB list in one allocation, and
// the Go runtime answers an allocation the system refuses with a crash, not
// an error. So the operations that allocate in proportion to a number
// rather than to what already exists are checked against the memory the
// run has left before they run: `*` on sequences (GuardAllocations rewrites
// it to a call of mulName) and the builtins that size their result from
// their argument's length (list, tuple, sorted, enumerate, reversed). Growth
// in small steps (a loop that appends) is bounded by the run's memory watch
// (see starlark.Options.MaxMemory).

// mulName is the predeclared name GuardAllocations calls for `x * y`; it is
// not an identifier, so no script can use or shadow it.
const mulName = "$mul"

// valueSize is what one element of a list or tuple costs (an interface).
const valueSize = 16

// checkedAllocation is the size from which an allocation is checked against
// what the run has left: below it, the check would cost more than it saves.
const checkedAllocation = 64 << 20

// GuardAllocations rewrites the syntax tree of a parsed file, before it is
// resolved with predeclared, so that every `x * y` and `x *= y` (x a name) that is not
// arithmetic on two literals is a call of the runtime's checked
// multiplication, at the same position: a repetition that needs more memory
// than the run has left fails with an error there. The program computes
// the same values otherwise. It does nothing unless predeclared comes from
// a runtime with a memory limit (Config.MaxMemory).
func GuardAllocations(f *syntax.File, predeclared starlark.StringDict) {
	if !predeclared.Has(mulName) {
		return
	}
	for _, s := range f.Stmts {
		guardStmt(s)
	}
}

func guardStmts(stmts []syntax.Stmt) {
	for _, s := range stmts {
		guardStmt(s)
	}
}

func guardStmt(s syntax.Stmt) {
	switch s := s.(type) {
	case *syntax.AssignStmt:
		s.LHS = guard(s.LHS)
		s.RHS = guard(s.RHS)
		if id, ok := s.LHS.(*syntax.Ident); ok && s.Op == syntax.STAR_EQ {
			s.Op = syntax.EQ
			s.RHS = mulCall(s.OpPos, &syntax.Ident{NamePos: id.NamePos, Name: id.Name}, s.RHS)
		}
	case *syntax.DefStmt:
		guardExprs(s.Params)
		guardStmts(s.Body)
	case *syntax.ExprStmt:
		s.X = guard(s.X)
	case *syntax.IfStmt:
		s.Cond = guard(s.Cond)
		guardStmts(s.True)
		guardStmts(s.False)
	case *syntax.ForStmt:
		s.X = guard(s.X)
		guardStmts(s.Body)
	case *syntax.WhileStmt:
		s.Cond = guard(s.Cond)
		guardStmts(s.Body)
	case *syntax.ReturnStmt:
		if s.Result != nil {
			s.Result = guard(s.Result)
		}
	}
}

func guardExprs(list []syntax.Expr) {
	for i, e := range list {
		list[i] = guard(e)
	}
}

// guard returns e with its multiplications rewritten.
func guard(e syntax.Expr) syntax.Expr {
	switch e := e.(type) {
	case *syntax.BinaryExpr:
		e.X = guard(e.X)
		e.Y = guard(e.Y)
		if e.Op == syntax.STAR && !literalArithmetic(e.X, e.Y) {
			return mulCall(e.OpPos, e.X, e.Y)
		}
	case *syntax.CallExpr:
		e.Fn = guard(e.Fn)
		guardExprs(e.Args)
	case *syntax.Comprehension:
		e.Body = guard(e.Body)
		for _, c := range e.Clauses {
			switch c := c.(type) {
			case *syntax.ForClause:
				c.X = guard(c.X)
			case *syntax.IfClause:
				c.Cond = guard(c.Cond)
			}
		}
	case *syntax.CondExpr:
		e.Cond, e.True, e.False = guard(e.Cond), guard(e.True), guard(e.False)
	case *syntax.DictEntry:
		e.Key, e.Value = guard(e.Key), guard(e.Value)
	case *syntax.DictExpr:
		guardExprs(e.List)
	case *syntax.DotExpr:
		e.X = guard(e.X)
	case *syntax.IndexExpr:
		e.X, e.Y = guard(e.X), guard(e.Y)
	case *syntax.LambdaExpr:
		guardExprs(e.Params)
		e.Body = guard(e.Body)
	case *syntax.ListExpr:
		guardExprs(e.List)
	case *syntax.ParenExpr:
		e.X = guard(e.X)
	case *syntax.SliceExpr:
		e.X = guard(e.X)
		if e.Lo != nil {
			e.Lo = guard(e.Lo)
		}
		if e.Hi != nil {
			e.Hi = guard(e.Hi)
		}
		if e.Step != nil {
			e.Step = guard(e.Step)
		}
	case *syntax.TupleExpr:
		guardExprs(e.List)
	case *syntax.UnaryExpr:
		if e.X != nil {
			e.X = guard(e.X)
		}
	}
	return e
}

// literalArithmetic reports whether x * y cannot be a repetition: a float
// literal on either side, or number literals on both.
func literalArithmetic(x, y syntax.Expr) bool {
	kind := func(e syntax.Expr) syntax.Token {
		if l, ok := e.(*syntax.Literal); ok {
			return l.Token
		}
		return syntax.ILLEGAL
	}
	kx, ky := kind(x), kind(y)
	return kx == syntax.FLOAT || ky == syntax.FLOAT || (kx == syntax.INT && ky == syntax.INT)
}

func mulCall(pos syntax.Position, x, y syntax.Expr) *syntax.CallExpr {
	return &syntax.CallExpr{
		Fn:     &syntax.Ident{NamePos: pos, Name: mulName},
		Lparen: pos,
		Args:   []syntax.Expr{x, y},
		Rparen: pos,
	}
}

// mul is `x * y`, refused when it is a repetition that needs more memory
// than the run has left.
func (rt *Runtime) mul(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	x, y := args[0], args[1]
	if rt.cfg.MaxMemory > 0 {
		seq, n := x, y
		if _, ok := x.(starlark.Int); ok {
			seq, n = y, x
		}
		if count, ok := n.(starlark.Int); ok {
			if c, ok := count.Int64(); ok && c > 0 {
				if size := repeatSize(seq, uint64(c)); size >= checkedAllocation {
					if err := rt.checkAllocation(size, fmt.Sprintf("%s * %d", seq.Type(), c)); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	return starlark.Binary(syntax.STAR, x, y)
}

// repeatSize is the memory that n repetitions of seq take, or 0 when seq is
// not a sequence.
func repeatSize(seq starlark.Value, n uint64) uint64 {
	var size uint64
	switch seq := seq.(type) {
	case starlark.String:
		size = uint64(len(seq))
	case starlark.Bytes:
		size = uint64(len(seq))
	case *starlark.List:
		size = uint64(seq.Len()) * valueSize
	case starlark.Tuple:
		size = uint64(len(seq)) * valueSize
	default:
		return 0
	}
	if size != 0 && n > ^uint64(0)/size {
		return ^uint64(0)
	}
	return size * n
}

// checkAllocation refuses an allocation of size bytes that the run's memory
// limit cannot hold next to what is in use. Callers check only allocations
// of checkedAllocation bytes or more.
func (rt *Runtime) checkAllocation(size uint64, what string) error {
	limit := rt.cfg.MaxMemory
	if inUse := MemoryInUse(); size > limit || inUse+size > limit {
		return fmt.Errorf("%s needs %s of memory, more than the run has left (%s in use of its limit of %s)",
			what, humanize.IBytes(size), humanize.IBytes(inUse), humanize.IBytes(limit))
	}
	return nil
}

// sizedBuiltins are the universal builtins that allocate their result at
// once from their argument's length.
var sizedBuiltins = []string{"list", "tuple", "sorted", "enumerate", "reversed"}

// guardSized wraps the universal builtin name so that its result's
// allocation is checked first.
func (rt *Runtime) guardSized(name string) *starlark.Builtin {
	orig := starlark.Universe[name].(*starlark.Builtin)
	return starlark.NewBuiltin(name, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if len(args) > 0 {
			if n := starlark.Len(args[0]); n*valueSize >= checkedAllocation {
				if err := rt.checkAllocation(uint64(n)*valueSize, fmt.Sprintf("a result of %d elements", n)); err != nil {
					return nil, err
				}
			}
		}
		return orig.CallInternal(thread, args, kwargs)
	})
}

// MemoryInUse is the memory the Go runtime holds for the heap: objects
// live or not yet collected, and free space not yet returned.
func MemoryInUse() uint64 {
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	metrics.Read(samples)
	var n uint64
	for _, s := range samples {
		if s.Value.Kind() == metrics.KindUint64 {
			n += s.Value.Uint64()
		}
	}
	return n
}

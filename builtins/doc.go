// Package builtins defines the names predeclared in every Rayvens script:
//
//   - Stream(name, operator=None, batch_size=None, batch_timeout=None, capacity=None)
//     and its methods (append/<<, send_to/>>, add_operator, unsubscribe,
//     disconnect_all, event_count, name)
//   - Actor(append=None, init=None, **methods), a stateful subscriber
//   - Task(fn, parallelism=N), a parallel subscriber
//   - OutputEvent(data, headers={}), an event carrying connector headers
//   - sleep(seconds), argv, env(name, default=None)
//   - the modules json, time and math, and the struct constructor
//
// Every value here is a thin Starlark face over the engine package; the
// [Runtime] ties them to one engine and holds the interpreter lock that keeps
// the main script and callbacks from racing (see [Runtime.Call]).
package builtins

package engine

import "time"

// SetIdleExit sets how long the dispatchers of e wait for work before they
// end, for the tests of the engine only. Call it before e has streams.
func SetIdleExit(e *Engine, d time.Duration) { e.idleExit = d }

package registry

import "time"

// fast makes retries quick for tests.
var fast = WithRetry(3, 10*time.Millisecond)

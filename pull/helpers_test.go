package pull

import (
	"time"

	"github.com/nixlayer/nixlayer/registry"
)

// fast makes retries quick for tests.
var fast = registry.WithRetry(3, 10*time.Millisecond)

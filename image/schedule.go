package image

import (
	"context"
	"runtime"
	"sort"
	"sync"
)

// eachLayer runs fn for every layer of plan, at most GOMAXPROCS at once,
// heaviest layer first (by the bytes of its files), so that the largest
// layer does not start last and leave the other cores idle at the end. It
// returns the first error in plan order; after an error no new layer starts.
func eachLayer(ctx context.Context, plan []Layer, fn func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), len(plan))
	order := make([]int, len(plan))
	for i := range plan {
		order[i] = i
	}
	if len(plan) > workers {
		// With a worker for every layer, the order does not matter.
		weight := make([]int64, len(plan))
		for i := range plan {
			weight[i] = layerWeight(&plan[i])
		}
		sort.SliceStable(order, func(a, b int) bool { return weight[order[a]] > weight[order[b]] })
	}
	next := make(chan int, len(order))
	for _, i := range order {
		next <- i
	}
	close(next)
	errs := make([]error, len(plan))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if errs[i] = ctx.Err(); errs[i] != nil {
					continue
				}
				if errs[i] = fn(i); errs[i] != nil {
					cancel()
				}
			}
		}()
	}
	wg.Wait()
	var first error
	for _, err := range errs {
		if err != nil && (first == nil || first == context.Canceled) {
			first = err
		}
	}
	return first
}

// layerWeight estimates the work of writing l: the size of its store paths
// (from the plan) and of its extra files.
func layerWeight(l *Layer) int64 {
	n := l.Size
	for _, e := range l.Extra {
		n += e.Size
	}
	return n
}

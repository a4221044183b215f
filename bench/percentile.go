package bench

import (
	"slices"
	"time"
)

// percentile returns the p-quantile (0 < p <= 1) of samples by the
// nearest-rank method over all samples, sorted in place: the smallest
// sample that at least p of all samples are less than or equal to. It
// returns 0 for no samples.
func percentile(samples []time.Duration, p float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	if !slices.IsSorted(samples) {
		slices.Sort(samples)
	}
	rank := int(p*float64(len(samples))+0.999999999) - 1 // ceil(p*n) - 1
	return samples[min(max(rank, 0), len(samples)-1)]
}

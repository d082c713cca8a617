package main

import (
	"math"
	"math/rand/v2"
	"sort"
)

// dist summarizes a sample: its size, quantiles and largest value.
type dist struct {
	n                       int
	p10, med, p90, p99, max float64
}

// summarize returns the quantiles of xs (which it sorts), interpolating
// linearly between the two nearest ranks. An empty sample gives n == 0
// and NaN quantiles.
func summarize(xs []float64) dist {
	if len(xs) == 0 {
		nan := math.NaN()
		return dist{p10: nan, med: nan, p90: nan, p99: nan, max: nan}
	}
	sort.Float64s(xs)
	return dist{
		n:   len(xs),
		p10: quantile(xs, 0.10),
		med: quantile(xs, 0.50),
		p90: quantile(xs, 0.90),
		p99: quantile(xs, 0.99),
		max: xs[len(xs)-1],
	}
}

// quantile returns the q-quantile of the sorted sample xs.
func quantile(xs []float64, q float64) float64 {
	pos := q * float64(len(xs)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return xs[lo] + (xs[hi]-xs[lo])*(pos-float64(lo))
}

// shift returns d with c subtracted from every quantile.
func (d dist) shift(c float64) dist {
	d.p10 -= c
	d.med -= c
	d.p90 -= c
	d.p99 -= c
	d.max -= c
	return d
}

// order returns the order in which round i visits n rows: a permutation
// drawn from a generator seeded with i, so that over the rounds every row
// runs in every position and after every other row, and a rerun visits
// the rows in the same orders.
func order(n, i int) []int {
	return rand.New(rand.NewPCG(uint64(i), 0x7265617065722d69)).Perm(n)
}

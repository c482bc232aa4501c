#pragma once
// Small statistics: percentiles of samples (nearest rank) and the median of rounds.

#include <vector>

namespace bench {

// p in [0, 1]; sorts `samples` in place. NaN when empty.
double percentile(std::vector<double>& samples, double p);
// The median of the values (mean of the two middle ones for an even count). NaN when empty.
double median(std::vector<double> values);

}  // namespace bench

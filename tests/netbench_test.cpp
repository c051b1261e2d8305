// lamina netbench --rounds: the round a row reports is the median of those that ran.
#include <algorithm>
#include <cmath>
#include <gtest/gtest.h>
#include <limits>
#include <rapidcheck/gtest.h>
#include <vector>

#include "tools/netbench.hpp"

namespace lamina::tools {
namespace {

constexpr double kNotRun = std::numeric_limits<double>::quiet_NaN();

TEST(NetbenchRounds, TheMedianOfThoseThatRanTheLowerOneOfAnEvenCount) {
  const std::vector<double> odd{3, 1, 2};
  EXPECT_EQ(median_index(odd), 2U);
  const std::vector<double> even{40, 10, 30, 20};
  EXPECT_EQ(median_index(even), 3U); // 20: the lower of 20 and 30
  const std::vector<double> gaps{kNotRun, 5, kNotRun, 7, 6};
  EXPECT_EQ(median_index(gaps), 4U);
  const std::vector<double> none{kNotRun, kNotRun};
  EXPECT_EQ(median_index(none), std::nullopt);
}

RC_GTEST_PROP(NetbenchRounds, PicksARoundThatRanWhoseFigureIsTheMedian,
              (std::vector<int> values, std::vector<bool> ran)) {
  std::vector<double> figures;
  std::vector<double> kept;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const bool did = i < ran.size() ? ran[i] : true;
    figures.push_back(did ? values[i] : kNotRun);
    if (did) kept.push_back(values[i]);
  }
  const auto median = median_index(figures);
  RC_ASSERT(median.has_value() == !kept.empty());
  if (!median) return;
  RC_ASSERT(*median < figures.size());
  RC_ASSERT(!std::isnan(figures[*median]));
  std::sort(kept.begin(), kept.end());
  RC_ASSERT(figures[*median] == kept[(kept.size() - 1) / 2]);
}

} // namespace
} // namespace lamina::tools

// When a held message is released: the instant its window opens (Table::window_opens), day by day,
// each day with its own window (22:00-09:00, 01:00-12:00 on a Ramadan day), as docs/policy.md says.
#include <catch2/catch.hpp>

#include "policy/saudi_time.h"
#include "policy/table.h"
#include "policy_fixture.h"

namespace {

std::string opens(const policy::Table& t, const char* at) { return policy::saudi_iso(t.window_opens(*policy::parse_instant(at))); }

}  // namespace

TEST_CASE("a held message is released when its window opens on the day it opens", "[policy][hold]") {
  auto loaded = policy_fixture::load_policy_file(HAJIB_SOURCE_DIR "/test/policy/policy.yaml");
  REQUIRE(loaded.table);
  const policy::Table& t = *loaded.table;
  // outside a window: now
  CHECK(opens(t, "2026-11-22T21:59:59+03:00") == "2026-11-22T21:59:59+03:00");
  CHECK(opens(t, "2026-11-23T09:00:00+03:00") == "2026-11-23T09:00:00+03:00");
  // an ordinary night: 09:00 the next morning, or the same morning after midnight
  CHECK(opens(t, "2026-11-22T22:00:00+03:00") == "2026-11-23T09:00:00+03:00");
  CHECK(opens(t, "2026-11-22T23:59:59+03:00") == "2026-11-23T09:00:00+03:00");
  CHECK(opens(t, "2026-11-23T08:59:59+03:00") == "2026-11-23T09:00:00+03:00");
  // a Ramadan morning (1447: 2026-02-18 .. 2026-03-19): 12:00
  CHECK(opens(t, "2026-03-05T01:00:00+03:00") == "2026-03-05T12:00:00+03:00");
  CHECK(opens(t, "2026-03-05T11:59:59+03:00") == "2026-03-05T12:00:00+03:00");
  // the night before the first day of Ramadan: that day's window starts at 01:00, so 00:00
  CHECK(opens(t, "2026-02-17T22:00:00+03:00") == "2026-02-18T00:00:00+03:00");
  // Ramadan nights are open; the first night after Ramadan (an ordinary day) opens at 09:00
  CHECK(opens(t, "2026-03-19T22:30:00+03:00") == "2026-03-19T22:30:00+03:00");
  CHECK(opens(t, "2026-03-20T00:30:00+03:00") == "2026-03-20T09:00:00+03:00");
  // an overridden Ramadan (1448 pinned to 2027-02-09 .. 2027-03-09): its days, not ICU's
  CHECK(opens(t, "2027-02-08T01:00:00+03:00") == "2027-02-08T09:00:00+03:00");
  CHECK(opens(t, "2027-03-09T01:00:00+03:00") == "2027-03-09T12:00:00+03:00");
  CHECK(opens(t, "2027-03-10T01:00:00+03:00") == "2027-03-10T09:00:00+03:00");
}

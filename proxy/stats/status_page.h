// GET / on the stats port: the NOC's page, one self-contained HTML document from a snapshot.
#pragma once

#include <string>
#include <string_view>

#include "proxy/stats/stats.h"

namespace proxy {

// The page as of s.now_unix_ms; it asks the browser to load it again every 5 s.
std::string status_page(const Snapshot& s);

// Text made safe to stand in HTML text or a quoted attribute: & < > " ' as entities.
std::string html_escaped(std::string_view text);
// "2h 05m", "3d 4h", "42s": how long, for a person.
std::string duration_text(uint64_t seconds);
// "2026-11-30 12:34:56 UTC".
std::string utc_text(int64_t unix_ms);

}  // namespace proxy

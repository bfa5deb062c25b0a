// Held messages' records, field by field (proxy/state/held_record.h).
#include "proxy/state/held_record.h"

#include <charconv>
#include <map>

namespace proxy {

namespace {
int64_t number(std::string_view s) {
  int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}
}  // namespace

size_t HeldRecord::bytes() const {
  size_t n = source.size() + destination.size() + campaign.size() + 64;
  for (const auto& p : parts) n += p.id.size() + p.pdu.size();
  return n;
}

std::vector<std::pair<std::string, std::string>> HeldRecord::fields() const {
  std::vector<std::pair<std::string, std::string>> f = {
      {"reason", reason}, {"campaign", campaign}, {"release_at", std::to_string(release_at)},
      {"expires", std::to_string(expires)}, {"held_at", std::to_string(held_at)}, {"source", source},
      {"destination", destination}, {"registered_delivery", std::to_string(registered_delivery)},
      {"class", message_class}, {"parts", std::to_string(parts.size())}};
  if (dropped) f.emplace_back("dropped", "1");
  for (size_t i = 0; i < parts.size(); ++i) f.emplace_back("p" + std::to_string(i + 1), parts[i].id + parts[i].pdu);
  return f;
}

bool HeldRecord::read(std::string_view acc, std::string_view message_id,
                      const std::vector<std::pair<std::string, std::string>>& list) {
  std::map<std::string, std::string, std::less<>> f(list.begin(), list.end());
  auto get = [&](std::string_view k) -> std::string {
    auto it = f.find(k);
    return it == f.end() ? std::string() : it->second;
  };
  account = acc;
  id = message_id;
  reason = get("reason");
  campaign = get("campaign");
  release_at = number(get("release_at"));
  expires = number(get("expires"));
  held_at = number(get("held_at"));
  source = get("source");
  destination = get("destination");
  registered_delivery = uint8_t(number(get("registered_delivery")));
  message_class = get("class");
  dropped = get("dropped") == "1";
  int64_t count = number(get("parts"));
  if (count < 1 || count > 255) return false;
  parts.clear();
  for (int64_t i = 1; i <= count; ++i) {
    std::string blob = get("p" + std::to_string(i));
    if (blob.size() <= 16) return false;
    parts.push_back({blob.substr(0, 16), blob.substr(16)});
  }
  return true;
}

}  // namespace proxy

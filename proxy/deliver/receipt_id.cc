// Operator id normalisation and the receipt text's id field.
#include "proxy/deliver/receipt_id.h"

#include <cctype>
#include <cstdint>

namespace proxy {

std::optional<IdFormat> parse_id_format(std::string_view name) {
  if (name == "text" || name == "string") return IdFormat::text;
  if (name == "hex") return IdFormat::hex;
  if (name == "decimal") return IdFormat::decimal;
  return std::nullopt;
}

namespace {

std::optional<std::string> as_decimal_value(std::string_view id, int base) {
  unsigned __int128 value = 0;
  for (char c : id) {
    int digit;
    if (c >= '0' && c <= '9') digit = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F') digit = c - 'A' + 10;
    else return std::nullopt;
    value = value * unsigned(base) + unsigned(digit);
    if (value >> 120) return std::nullopt;  // longer than any real id; refuse rather than wrap
  }
  std::string out;
  do {
    out.insert(out.begin(), char('0' + int(value % 10)));
    value /= 10;
  } while (value);
  return out;
}

}  // namespace

std::optional<std::string> canonical_operator_id(std::string_view id, IdFormat format) {
  if (id.empty()) return std::nullopt;
  switch (format) {
    case IdFormat::hex: return as_decimal_value(id, 16);
    case IdFormat::decimal: return as_decimal_value(id, 10);
    case IdFormat::text: break;
  }
  std::string out;
  size_t i = id.find_first_not_of('0');
  if (i == std::string_view::npos) return std::string("0");
  out.reserve(id.size() - i);
  for (; i < id.size(); ++i) {
    const char c = id[i];
    out.push_back(c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c);  // ASCII only, as tolower in the C locale
  }
  return out;
}

namespace {
size_t text_id_start(std::string_view text) {
  size_t at = text.find("id:");
  // "id:" must start the text or follow a space, so that "xid:" or "...sub_id:" do not count.
  while (at != std::string_view::npos && at != 0 && text[at - 1] != ' ') at = text.find("id:", at + 1);
  return at == std::string_view::npos ? at : at + 3;
}
}  // namespace

std::string_view receipt_text_id(std::string_view text) {
  size_t start = text_id_start(text);
  if (start == std::string_view::npos) return {};
  size_t end = text.find(' ', start);
  return text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
}

std::string replace_receipt_text_id(std::string_view text, std::string_view new_id) {
  size_t start = text_id_start(text);
  if (start == std::string_view::npos) return std::string(text);
  size_t end = text.find(' ', start);
  if (end == std::string_view::npos) end = text.size();
  std::string out(text.substr(0, start));
  out.append(new_id);
  out.append(text.substr(end));
  return out;
}

bool receipt_is_final(std::optional<uint8_t> message_state, std::string_view text) {
  if (message_state) return *message_state == 2 || *message_state == 3 || *message_state == 4 || *message_state == 5 || *message_state == 8;
  size_t at = text.find("stat:");
  if (at == std::string_view::npos) return false;
  std::string_view stat = text.substr(at + 5, 7);
  for (std::string_view final_stat : {"DELIVRD", "EXPIRED", "DELETED", "UNDELIV", "REJECTD"})
    if (stat == final_stat) return true;
  return false;
}

}  // namespace proxy

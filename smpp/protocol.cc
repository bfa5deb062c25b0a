// Names for the command and status tables.
#include "smpp/protocol.h"

namespace smpp {

std::string_view command_name(uint32_t id) {
  switch (id) {
#define X(name, value) \
  case value:          \
    return #name;
#include "smpp/commands.def"
#undef X
  }
  return "unknown";
}

bool is_known_command(uint32_t id) { return command_name(id) != "unknown"; }

std::string_view status_name(uint32_t value) {
  switch (value) {
#define X(name, v, meaning) \
  case v:                   \
    return #name;
#include "smpp/statuses.def"
#undef X
  }
  return "";
}

}  // namespace smpp

// What the state store takes for one message (or one long message): who, to whom, which rules.
#pragma once

#include <cstdint>
#include <string>

#include "policy/table.h"

namespace proxy {

struct StateReservation {
  std::string account, sender, number;
  std::string number_hash;  // only when the awareness rule needs it (the key of its counter)
  int64_t saudi_day = 0;
  int parts = 1;
  policy::StateNeeds needs;
};

}  // namespace proxy

// The spare Submits of this thread's loop, handed out again instead of allocating new ones.
#include "proxy/flow.h"

#include <vector>

#include "proxy/state/store.h"

namespace proxy {

namespace {
// Beyond this many spares a finished Submit is freed: a burst does not pin its memory for ever.
constexpr size_t kMaxSpares = 1 << 16;

struct Spares {
  std::vector<Submit*> free;
  ~Spares() {
    for (Submit* s : free) delete s;
  }
};
thread_local Spares spares;
}  // namespace

SubmitPtr new_submit() {
  if (spares.free.empty()) return SubmitPtr(new Submit);
  Submit* s = spares.free.back();
  spares.free.pop_back();
  return SubmitPtr(s);
}

void SubmitRecycler::operator()(Submit* submit) const noexcept {
  if (spares.free.size() >= kMaxSpares) {
    delete submit;
    return;
  }
  std::string pdu = std::move(submit->pdu);  // keeps its buffer through the reset
  pdu.clear();
  *submit = Submit{};
  submit->pdu = std::move(pdu);
  spares.free.push_back(submit);
}

}  // namespace proxy

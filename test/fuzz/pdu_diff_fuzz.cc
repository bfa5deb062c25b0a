// libFuzzer target: one PDU through the zero-copy reader and the direct writers (smpp/pdu_view.h)
// and through the libsmpp34 oracle they replaced (smpp/oracle.h); any disagreement aborts.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "smpp/oracle.h"
#include "smpp/pdu_view.h"

namespace {

void fail(const char* what) {
  std::fprintf(stderr, "property broken: %s\n", what);
  std::abort();
}

// The statuses libsmpp34 packs: any other and it refuses, so there is nothing to compare with.
bool oracle_packs_status(uint32_t status) {
  std::string ignored;
  return smpp::oracle::encode_header_only(ignored, smpp::Command::generic_nack, 1, status);
}

void check_same_fields(const smpp::ShortMessageView& view, const smpp::ShortMessage& old) {
#define SHORT_MESSAGE_FIELD(name, kind, max_with_nul, max_with_nul_in_deliver_sm) \
  if (!(view.name == old.name)) fail("reader and oracle read " #name " differently");
#include "smpp/pdu.def"
  smpp::TlvReader tlvs(view.optional_part);
  uint16_t tag;
  std::string_view value;
  size_t n = 0;
  for (; tlvs.next(tag, value); ++n) {
    if (n >= old.tlvs.size() || old.tlvs[n].tag != tag || old.tlvs[n].value != value)
      fail("reader and oracle split the TLVs differently");
    const smpp::Tlv* first = old.find(tag);
    auto found = view.find(tag);
    if (!found || *found != first->value) fail("find() disagrees with the oracle's find()");
  }
  if (n != old.tlvs.size()) fail("reader and oracle found different numbers of TLVs");
}

// The writer against libsmpp34's packing, as each command, from the owned message and from the view.
void check_writers(const smpp::ShortMessageView& view, const smpp::ShortMessage& old, uint32_t sequence) {
  for (smpp::Command kind : {smpp::Command::submit_sm, smpp::Command::deliver_sm}) {
    std::string ours, from_view, theirs;
    smpp::encode_short_message(ours, kind, sequence, old);
    smpp::encode_short_message(from_view, kind, sequence, view);
    if (ours != from_view) fail("the writer writes a view and its copy differently");
    // A message libsmpp34 decoded has only values it packs, but for 254 octets of short_message.
    if (!smpp::oracle::encode_short_message(theirs, kind, sequence, old)) {
      if (old.short_message.size() != 254) fail("libsmpp34 refused to pack a message it decoded");
      continue;
    }
    if (ours != theirs) fail("the writer and libsmpp34 wrote different bytes");
  }
}

void check_short_message(std::string_view pdu, const smpp::Header& header) {
  smpp::ShortMessageView view;
  smpp::ShortMessage old;
  smpp::DecodeError ours, theirs;
  bool ok = smpp::read_short_message(pdu, view, ours);
  bool old_ok = smpp::oracle::decode_short_message(pdu, old, theirs);
  if (ok != old_ok) fail(ok ? "the reader accepts a message the oracle refuses" : "the reader refuses a message the oracle accepts");
  if (!ok) {
    if (ours.status != theirs.status) fail("reader and oracle refuse a message with different statuses");
    return;
  }
  check_same_fields(view, old);
  smpp::ShortMessage owned;
  smpp::to_owned(view, owned);
  if (owned.tlvs.size() != old.tlvs.size()) fail("to_owned lost TLVs");
  check_writers(view, old, header.sequence);
}

void check_message_id_resp(std::string_view pdu, const smpp::Header& header) {
  std::string_view id;
  std::string old;
  smpp::DecodeError ours, theirs;
  bool ok = smpp::read_message_id_resp(pdu, id, ours);
  bool old_ok = smpp::oracle::decode_message_id_resp(pdu, old, theirs);
  if (ok != old_ok) fail("reader and oracle disagree on a message id response");
  if (!ok && ours.status != theirs.status) fail("reader and oracle refuse a message id response with different statuses");
  if (id != old) fail("reader and oracle read different message ids");
  if (!ok) return;
  // Compared where libsmpp34 packed as Hajib writes (oracle.h): deliver_sm_resp's id is always
  // empty there, and data_sm_resp keeps a body on errors.
  auto kind = smpp::Command(header.command_id);
  if (kind == smpp::Command::deliver_sm_resp) id = {};
  if (kind == smpp::Command::data_sm_resp && header.status != 0) return;
  if (!oracle_packs_status(header.status)) return;
  std::string written, packed;
  smpp::encode_message_id_resp(written, kind, header.sequence, header.status, id);
  if (!smpp::oracle::encode_message_id_resp(packed, kind, header.sequence, header.status, id))
    fail("libsmpp34 refused to pack a message id response");
  if (written != packed) fail("the writer and libsmpp34 wrote different message id responses");
}

void check_header_only(const smpp::Header& header) {
  auto kind = smpp::Command(header.command_id);
  std::string written, packed;
  if (!smpp::oracle::encode_header_only(packed, kind, header.sequence, header.status)) return;
  smpp::encode_header_only(written, kind, header.sequence, header.status);
  if (written != packed) fail("the writer and libsmpp34 wrote different header-only PDUs");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The whole input is one PDU, as the Framer would hand it over (its command_length is not read).
  std::string_view pdu(reinterpret_cast<const char*>(data), size);
  smpp::Header header;
  if (size >= smpp::kHeaderSize) header = smpp::read_header(data);
  check_short_message(pdu, header);
  check_message_id_resp(pdu, header);
  if (size >= smpp::kHeaderSize) check_header_only(header);
  return 0;
}

# Writes the configuration the Debian package installs: etc/hajib.yaml with the audit log in
# /var/log/hajib (the unit's one writable directory). Run by package.cmake at build time:
#   cmake -DIN=etc/hajib.yaml -DOUT=build/packaging/hajib.yaml -P cmake/packaged-config.cmake
file(READ "${IN}" text)
set(audit_line_pattern "\naudit:\n  file: \"[^\"\n]*\"")
string(REGEX MATCH "${audit_line_pattern}" found "${text}")
if(NOT found)
  # A changed example must not ship its demo path (/tmp under PrivateTmp) by accident.
  message(FATAL_ERROR "${IN}: no 'audit:' section whose first key is 'file: \"...\"'; update cmake/packaged-config.cmake")
endif()
string(REGEX REPLACE "${audit_line_pattern}" "\naudit:\n  file: \"/var/log/hajib/audit.log\"" text "${text}")
file(WRITE "${OUT}.tmp"
  "# Installed by the hajib Debian package from the example etc/hajib.yaml. The upstreams, routes\n"
  "# and accounts (policy.d/) below are examples: describe your own, then `hajib check` and\n"
  "# `systemctl reload hajib` (man hajib(8)). Set your own state.number_key.\n"
  "${text}")
file(RENAME "${OUT}.tmp" "${OUT}")

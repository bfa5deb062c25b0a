# Install rules and the Debian package (CPack DEB): hajib_<version>_amd64.deb with the binary,
# the configuration as conffiles, the systemd unit, logrotate, the man page and the maintainer
# scripts of packaging/. `cpack -G DEB` in the build tree; scripts/package-test.sh installs it.
#
# Paths under /etc and /lib are absolute: the unit names /usr/sbin/hajib, so an install outside
# the package is `cmake --install build --prefix /usr` (with DESTDIR to stage it).

set(HAJIB_PACKAGING_OUT ${CMAKE_BINARY_DIR}/packaging)

# The packaged configuration and the man page are made at build time from their one source.
add_custom_command(OUTPUT ${HAJIB_PACKAGING_OUT}/hajib.yaml
  COMMAND ${CMAKE_COMMAND} -DIN=${CMAKE_SOURCE_DIR}/etc/hajib.yaml -DOUT=${HAJIB_PACKAGING_OUT}/hajib.yaml
          -P ${CMAKE_SOURCE_DIR}/cmake/packaged-config.cmake
  DEPENDS ${CMAKE_SOURCE_DIR}/etc/hajib.yaml ${CMAKE_SOURCE_DIR}/cmake/packaged-config.cmake
  COMMENT "Packaged configuration from etc/hajib.yaml")
configure_file(${CMAKE_SOURCE_DIR}/packaging/hajib.8 ${HAJIB_PACKAGING_OUT}/hajib.8 @ONLY)
add_custom_command(OUTPUT ${HAJIB_PACKAGING_OUT}/hajib.8.gz
  COMMAND gzip -9nkf ${HAJIB_PACKAGING_OUT}/hajib.8
  DEPENDS ${HAJIB_PACKAGING_OUT}/hajib.8
  COMMENT "Man page hajib(8)")
add_custom_target(hajib-packaging-files ALL DEPENDS ${HAJIB_PACKAGING_OUT}/hajib.yaml ${HAJIB_PACKAGING_OUT}/hajib.8.gz)

file(GLOB HAJIB_POLICY_FILES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/etc/policy.d/*.yaml)
install(TARGETS hajib RUNTIME DESTINATION sbin)
install(FILES ${HAJIB_PACKAGING_OUT}/hajib.yaml DESTINATION /etc/hajib)
install(FILES ${HAJIB_POLICY_FILES} DESTINATION /etc/hajib/policy.d)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/hajib.service DESTINATION /lib/systemd/system)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/hajib.logrotate DESTINATION /etc/logrotate.d RENAME hajib)
install(FILES ${HAJIB_PACKAGING_OUT}/hajib.8.gz DESTINATION share/man/man8)

# Every file under /etc is a conffile: dpkg keeps an admin's edits across upgrades.
set(HAJIB_CONFFILES "/etc/hajib/hajib.yaml\n/etc/logrotate.d/hajib\n")
foreach(policy_file ${HAJIB_POLICY_FILES})
  get_filename_component(name ${policy_file} NAME)
  string(APPEND HAJIB_CONFFILES "/etc/hajib/policy.d/${name}\n")
endforeach()
file(CONFIGURE OUTPUT ${HAJIB_PACKAGING_OUT}/conffiles CONTENT "${HAJIB_CONFFILES}")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME hajib)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "The Hajib authors <maintainers@users.noreply.h-seed-1f400d05.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "SMPP 3.4 compliance proxy for Saudi A2P SMS")
set(CPACK_PACKAGE_DESCRIPTION "Hajib sits between the customers of an A2P SMS provider and the\n\
operators' SMSCs, decides every message against a policy compiled from YAML,\n\
routes it, and brings receipts and replies back.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The libraries' packages come from dpkg-shlibdeps (dpkg-dev); the maintainer scripts need adduser
# and deb-systemd-helper.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, init-system-helpers")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "logrotate")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "redis-server")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_SOURCE_DIR}/packaging/postinst ${CMAKE_SOURCE_DIR}/packaging/prerm ${CMAKE_SOURCE_DIR}/packaging/postrm
  ${HAJIB_PACKAGING_OUT}/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)

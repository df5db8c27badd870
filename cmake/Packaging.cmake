# The Debian package (CPack's DEB generator; scripts/package.sh builds it):
# both binaries, the systemd unit, the default config (a conffile), man
# pages made from --help by help2man, bash completion, the LVM filter
# example, and the maintainer scripts of packaging/debian/. dpkg-shlibdeps
# computes the library dependencies.
find_program(HELP2MAN help2man REQUIRED)

set(MAN_DIR ${CMAKE_BINARY_DIR}/man)
# help2man runs the programs just built: what the man page says is what
# --help says.
add_custom_command(
  OUTPUT ${MAN_DIR}/mvirt-zfs.8.gz ${MAN_DIR}/mvirt-zfsctl.8.gz
  COMMAND ${CMAKE_COMMAND} -E make_directory ${MAN_DIR}
  COMMAND ${HELP2MAN} --no-info --section 8 --version-string ${PROJECT_VERSION}
          --name "serve the ZFS volumes of a VM host over gRPC" --output ${MAN_DIR}/mvirt-zfs.8
          $<TARGET_FILE:mvirt-zfs>
  COMMAND ${HELP2MAN} --no-info --section 8 --version-string ${PROJECT_VERSION}
          --name "manage the volumes of an mvirt-zfs daemon" --output ${MAN_DIR}/mvirt-zfsctl.8
          $<TARGET_FILE:mvirt-zfsctl>
  COMMAND gzip -9nf ${MAN_DIR}/mvirt-zfs.8 ${MAN_DIR}/mvirt-zfsctl.8
  DEPENDS mvirt-zfs mvirt-zfsctl
  COMMENT "Writing the man pages from --help")
add_custom_target(man_pages ALL DEPENDS ${MAN_DIR}/mvirt-zfs.8.gz ${MAN_DIR}/mvirt-zfsctl.8.gz)
# `cpack` installs without building everything first: scripts/package.sh
# builds what ships.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(PKG ${PROJECT_SOURCE_DIR}/packaging)
install(FILES ${MAN_DIR}/mvirt-zfs.8.gz ${MAN_DIR}/mvirt-zfsctl.8.gz DESTINATION share/man/man8)
install(FILES ${PKG}/mvirt-zfs.service DESTINATION lib/systemd/system)
install(FILES ${PKG}/mvirt-zfs.toml DESTINATION /etc/mvirt-zfs)
install(FILES ${PKG}/mvirt-zfsctl.bash-completion DESTINATION share/bash-completion/completions
        RENAME mvirt-zfsctl)
install(FILES ${PKG}/lvm-zvol-filter.conf DESTINATION share/doc/mvirt-zfs/examples)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME mvirt-zfs)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_CONTACT "mvirt-zfs developers <mvirt-zfs@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "ZFS volumes of a VM host over gRPC")
set(CPACK_PACKAGE_DESCRIPTION
    "mvirt-zfs turns ZFS volumes into VM disks and serves them over gRPC: thin volumes, snapshots and rollback, clones from templates, raw and qcow2 image imports, pool statistics and change streams. mvirt-zfsctl is its command-line client.")
# Debug information stays in the build tree, not on VM hosts.
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "zfsutils-linux, qemu-utils, bubblewrap, adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "bash-completion")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PKG}/debian/conffiles ${PKG}/debian/postinst ${PKG}/debian/prerm ${PKG}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)

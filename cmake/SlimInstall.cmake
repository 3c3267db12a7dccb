# `cmake --install` puts the public headers, libslim.a, a CMake package (find_package(slim), target
# slim::slim) and a pkg-config file (slim.pc) under the prefix.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS slim EXPORT slimTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/slim DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(SLIM_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/slim)
install(EXPORT slimTargets NAMESPACE slim:: DESTINATION ${SLIM_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/slimConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/slimConfig.cmake INSTALL_DESTINATION ${SLIM_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/slimConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/slimConfig.cmake ${PROJECT_BINARY_DIR}/slimConfigVersion.cmake
        DESTINATION ${SLIM_CMAKE_DIR})

# slim.pc finds the prefix from its own place, so the installed tree can move (cmake --install --prefix).
file(RELATIVE_PATH SLIM_PC_TO_PREFIX /root/${CMAKE_INSTALL_LIBDIR}/pkgconfig /root)
configure_file(${PROJECT_SOURCE_DIR}/cmake/slim.pc.in ${PROJECT_BINARY_DIR}/slim.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/slim.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

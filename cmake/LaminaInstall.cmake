# `cmake --install build --prefix P` installs Lamina as a CMake package, which a project uses with
# `find_package(Lamina CONFIG REQUIRED)` (docs/architecture.md, "Using Lamina from your own
# project"):
#
#   P/bin/                    lamina, lamina-bench, lamina-opt, lamina-stackgen
#   P/include/lamina/         the headers a project's layers, stacks and generated code include:
#                             runtime/, spec/, difftest/, services/, tools/; components/,
#                             stacks/fifo/ and stacks/rpc/, each layer or stack spec beside its
#                             header; and the .clang-format that lamina-opt formats its output with
#   P/lib/                    the libraries (Lamina::lamina_runtime, ...), and under
#                             lib/lamina/objects the OBJECT libraries that register the standard
#                             layers as a program starts (Lamina::lamina_components, ..._difftest)
#   P/share/lamina/tools/     the main functions of lamina_add_tool()'s programs
#   P/lib/cmake/Lamina/       LaminaConfig.cmake, its version file, the exported targets and
#                             LaminaStacks.cmake (lamina_add_layers, lamina_add_stack,
#                             lamina_add_tool)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(LAMINA_INSTALL_INCLUDE_ROOT "${CMAKE_INSTALL_INCLUDEDIR}/lamina")
set(LAMINA_INSTALL_TOOLS_DIR "${CMAKE_INSTALL_DATADIR}/lamina/tools")
set(LAMINA_INSTALL_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/Lamina")

# The libraries' include root is the source tree in the build and include/lamina once installed.
foreach(library lamina_runtime lamina_spec)
  set_property(TARGET ${library} PROPERTY INTERFACE_INCLUDE_DIRECTORIES
               "$<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>"
               "$<INSTALL_INTERFACE:${LAMINA_INSTALL_INCLUDE_ROOT}>")
endforeach()
# lamina-opt links Clang's shared libraries from LLVM's own folder: keep finding them installed.
set_target_properties(lamina-opt PROPERTIES INSTALL_RPATH_USE_LINK_PATH ON)

install(TARGETS lamina_runtime lamina_spec lamina_difftest lamina_rpc lamina_lock lamina_spacetime
                lamina_clocks lamina_ants lamina_ants_sandbox lamina_cli lamina_bench
                lamina_instruction_count
                lamina_components lamina_components_difftest
        EXPORT LaminaTargets
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
        LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
        OBJECTS DESTINATION "${CMAKE_INSTALL_LIBDIR}/lamina/objects")
install(TARGETS lamina lamina-bench lamina-opt lamina-stackgen
        EXPORT LaminaTargets
        RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
install(EXPORT LaminaTargets NAMESPACE Lamina:: DESTINATION "${LAMINA_INSTALL_CMAKE_DIR}")

install(DIRECTORY runtime spec components difftest services tools
        DESTINATION "${LAMINA_INSTALL_INCLUDE_ROOT}"
        FILES_MATCHING PATTERN "*.hpp" PATTERN "*.ioa" PATTERN "mutants" EXCLUDE)
install(FILES stacks/fifo/fifo.ioa DESTINATION "${LAMINA_INSTALL_INCLUDE_ROOT}/stacks/fifo")
install(FILES stacks/rpc/rpc.ioa DESTINATION "${LAMINA_INSTALL_INCLUDE_ROOT}/stacks/rpc")
install(FILES stacks/lock/lock.ioa DESTINATION "${LAMINA_INSTALL_INCLUDE_ROOT}/stacks/lock")
install(FILES stacks/ants/ants.ioa DESTINATION "${LAMINA_INSTALL_INCLUDE_ROOT}/stacks/ants")
install(DIRECTORY stacks/ants/apps DESTINATION "${LAMINA_INSTALL_INCLUDE_ROOT}/stacks/ants"
        FILES_MATCHING PATTERN "*.lua")
install(FILES .clang-format DESTINATION "${LAMINA_INSTALL_INCLUDE_ROOT}")
install(FILES tools/lamina_main.cpp tools/bench_main.cpp DESTINATION "${LAMINA_INSTALL_TOOLS_DIR}")

configure_package_config_file(cmake/LaminaConfig.cmake.in
  "${PROJECT_BINARY_DIR}/LaminaConfig.cmake"
  INSTALL_DESTINATION "${LAMINA_INSTALL_CMAKE_DIR}"
  PATH_VARS LAMINA_INSTALL_INCLUDE_ROOT LAMINA_INSTALL_TOOLS_DIR)
write_basic_package_version_file("${PROJECT_BINARY_DIR}/LaminaConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/LaminaConfig.cmake"
              "${PROJECT_BINARY_DIR}/LaminaConfigVersion.cmake" cmake/LaminaStacks.cmake
        DESTINATION "${LAMINA_INSTALL_CMAKE_DIR}")

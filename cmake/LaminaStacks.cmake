# The CMake functions that build a project's layers and stacks: lamina_add_layers(),
# lamina_add_stack() and lamina_add_tool(). The repository includes this file from its top
# CMakeLists.txt; an installed Lamina includes it from LaminaConfig.cmake, so that a project's
# `find_package(Lamina CONFIG REQUIRED)` gives it the same functions (docs/architecture.md,
# "Using Lamina from your own project"). Which of the two it is, these variables say:
#
#   LAMINA_TARGET_PREFIX  ""  in the repository, "Lamina::" in a package: the prefix of the
#                         names of Lamina's libraries and of lamina-opt and lamina-stackgen
#   LAMINA_INCLUDE_ROOT   the include root of Lamina's headers, which holds runtime/ and
#                         components/ (the standard layers, each its .ioa beside its .hpp): the
#                         source tree, or <prefix>/include/lamina
#   LAMINA_TOOLS_DIR      where the main functions of lamina_add_tool()'s programs are:
#                         tools/, or <prefix>/share/lamina/tools
if(NOT DEFINED LAMINA_INCLUDE_ROOT OR NOT DEFINED LAMINA_TOOLS_DIR)
  message(FATAL_ERROR "LaminaStacks.cmake: set LAMINA_INCLUDE_ROOT and LAMINA_TOOLS_DIR first "
                      "(or use find_package(Lamina))")
endif()

# The generator's executable as a custom command's COMMAND, and what its DEPENDS should name so
# that the command runs again when the generator changes.
macro(_lamina_generator var name)
  set(${var} "${LAMINA_TARGET_PREFIX}${name}")
  if(LAMINA_TARGET_PREFIX)
    set(${var}_depends "$<TARGET_FILE:${LAMINA_TARGET_PREFIX}${name}>")
  else()
    set(${var}_depends "${name}")
  endif()
endmacro()

# lamina_add_layers(<target> <layer.ioa>...)
#
# An OBJECT library <target> that registers every layer the given specs declare with the layer
# registry (runtime/registry.hpp) as a program starts: lamina-stackgen --registry writes its one
# source, <target>_registry.cpp, from the specs. A layer is two files, its spec and its class in
# the header beside it with the same stem; nothing else names it. Link <target> directly into
# each executable that builds stacks of these layers by name.
#
# And an OBJECT library <target>_difftest that registers difftest's operations on the same
# layers (difftest/layer_ops.hpp), so that difftest can compare their state: link it too into
# each executable that runs difftest on them. It is the only part that depends on difftest.
#
# Before that, `lamina-opt --check-layers` checks every class against its spec (name, guarantees,
# place, parameters, header, state and its reflection list; optimizer/check_layers.hpp): a
# mismatch fails the build with the error at the C++ declaration and a note at the spec. The
# check runs again when a spec, a header or lamina-opt changes.
function(lamina_add_layers target)
  _lamina_generator(opt lamina-opt)
  _lamina_generator(stackgen lamina-stackgen)
  set(specs "")
  set(inputs "")
  foreach(spec IN LISTS ARGN)
    cmake_path(ABSOLUTE_PATH spec BASE_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}" NORMALIZE)
    cmake_path(REPLACE_EXTENSION spec LAST_ONLY .hpp OUTPUT_VARIABLE header)
    list(APPEND specs "${spec}")
    list(APPEND inputs "${spec}" "${header}")
  endforeach()
  if(NOT specs)
    message(FATAL_ERROR "lamina_add_layers(${target}): give the specs of the layers (*.ioa)")
  endif()
  set(checked "${CMAKE_CURRENT_BINARY_DIR}/${target}_checked.stamp")
  add_custom_command(
    OUTPUT "${checked}"
    COMMAND ${opt} --check-layers --source-dir "${LAMINA_INCLUDE_ROOT}" --stamp "${checked}"
            ${specs}
    DEPENDS ${opt_depends} ${inputs}
    COMMENT "Checking the layers of ${target} against their specs"
    VERBATIM)
  set(output "${CMAKE_CURRENT_BINARY_DIR}/${target}_registry.cpp")
  set(ops "${CMAKE_CURRENT_BINARY_DIR}/${target}_layer_ops.cpp")
  add_custom_command(
    OUTPUT "${output}" "${ops}"
    COMMAND ${stackgen} --registry --source-dir "${LAMINA_INCLUDE_ROOT}" -o "${output}"
            --layer-ops "${ops}" ${specs}
    DEPENDS ${stackgen_depends} ${inputs} "${checked}"
    COMMENT "Registering the layers of ${target}"
    VERBATIM)
  add_library(${target} OBJECT "${output}")
  target_link_libraries(${target} PUBLIC ${LAMINA_TARGET_PREFIX}lamina_runtime)
  add_library(${target}_difftest OBJECT "${ops}")
  target_link_libraries(${target}_difftest PUBLIC ${LAMINA_TARGET_PREFIX}lamina_difftest)
endfunction()

# lamina_add_stack(<target> SPEC <file.ioa> [SPEC <file.ioa> ...] [STACK <name> ...]
#                  [LAYERS <folder> ...] [MUTANTS <file.mutant> ...])
#
# Compiles the static composition (lamina::stack<Top, ..., Bottom>) of every stack declared in
# the SPEC files, or only of the stacks named by STACK, and registers each with static_stacks()
# (runtime/static_stacks.hpp), so that make_implementation() builds "static" for those stacks;
# and runs lamina-opt to fuse each of those stacks, registering the fused stacks as "fused"
# (runtime/fused_stacks.hpp). Difftest, the bench and a node on a real wire all find them there.
#
# <target> is an OBJECT library whose one source, <target>_static.cpp in the build directory,
# lamina-stackgen writes from the specs (see spec/stackgen.cpp; a spec layer's C++ class is
# lamina::<Name>, in the header beside its spec). Link <target> directly into an executable: an object library puts
# its object file on the link line, so the registration that runs as the program starts is not
# dropped, as it would be from a static library that nothing refers to.
#
# The file is generated again when a SPEC file, a spec it may import (components/*.ioa under
# LAMINA_INCLUDE_ROOT, the .ioa files beside each SPEC and in the LAYERS folders), a layer
# header (components/*.hpp, and those of the LAYERS) or lamina-stackgen itself changes, and
# rewritten only when its content changes, so the build stays incremental. A spec that does not
# check, or a layer without a C++ header, fails the build with the diagnostics at the stack
# declaration.
#
# LAYERS names folders of a project's own layers, each its spec and its class beside it with the
# same stem (foo.ioa and foo.hpp): lamina_add_layers(<target>_layers ...) checks and registers
# them, and the stacks of the SPEC files may use them (their specs import the folders, and
# `import "components"` the standard layers). lamina_add_tool() links <target>_layers and
# <target>_layers_difftest with <target> into its programs.
function(lamina_add_stack target)
  _lamina_generator(opt lamina-opt)
  _lamina_generator(stackgen lamina-stackgen)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SPEC;STACK;LAYERS;MUTANTS")
  if(NOT arg_SPEC)
    message(FATAL_ERROR "lamina_add_stack(${target}): give at least one SPEC <file.ioa>")
  endif()
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "lamina_add_stack(${target}): unexpected arguments "
                        "'${arg_UNPARSED_ARGUMENTS}'; expected SPEC <file.ioa>... [STACK <name>...]")
  endif()

  set(specs "")
  set(inputs "")
  foreach(spec IN LISTS arg_SPEC)
    cmake_path(ABSOLUTE_PATH spec BASE_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}" NORMALIZE)
    list(APPEND specs "${spec}")
    cmake_path(GET spec PARENT_PATH spec_dir)
    file(GLOB siblings CONFIGURE_DEPENDS "${spec_dir}/*.ioa")
    list(APPEND inputs ${siblings})
  endforeach()
  file(GLOB component_files CONFIGURE_DEPENDS "${LAMINA_INCLUDE_ROOT}/components/*.ioa"
       "${LAMINA_INCLUDE_ROOT}/components/*.hpp")
  list(APPEND inputs ${specs} ${component_files})
  set(layer_specs "")
  foreach(folder IN LISTS arg_LAYERS)
    cmake_path(ABSOLUTE_PATH folder BASE_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}" NORMALIZE)
    file(GLOB folder_specs CONFIGURE_DEPENDS "${folder}/*.ioa")
    file(GLOB folder_headers CONFIGURE_DEPENDS "${folder}/*.hpp")
    if(NOT folder_specs)
      message(FATAL_ERROR "lamina_add_stack(${target}): LAYERS ${folder} holds no layer spec (*.ioa)")
    endif()
    list(SORT folder_specs)
    list(APPEND layer_specs ${folder_specs})
    list(APPEND inputs ${folder_specs} ${folder_headers})
  endforeach()
  list(REMOVE_DUPLICATES inputs)

  set(stack_options "")
  foreach(name IN LISTS arg_STACK)
    list(APPEND stack_options --stack "${name}")
  endforeach()

  set(output "${CMAKE_CURRENT_BINARY_DIR}/${target}_static.cpp")
  add_custom_command(
    OUTPUT "${output}"
    COMMAND ${stackgen} --source-dir "${LAMINA_INCLUDE_ROOT}" -o "${output}" ${specs}
            ${stack_options}
    DEPENDS ${stackgen_depends} ${inputs}
    COMMENT "Generating the static stacks of ${target}"
    VERBATIM)
  # The fused stacks: lamina-opt writes a header per stack beside this file, which includes them
  # and registers each as "fused"; and the MUTANTS of that generated code (see
  # optimizer/README.md), each registered as "fused-mutant:<name>".
  set(fused "${CMAKE_CURRENT_BINARY_DIR}/${target}_fused.cpp")
  set(mutant_options "")
  if(arg_MUTANTS)
    set(mutant_options --mutants ${arg_MUTANTS})
  endif()
  add_custom_command(
    OUTPUT "${fused}"
    COMMAND ${opt} --source-dir "${LAMINA_INCLUDE_ROOT}" --registry "${fused}" ${specs}
            ${stack_options} ${mutant_options}
    DEPENDS ${opt_depends} ${inputs} ${arg_MUTANTS}
    COMMENT "Fusing the stacks of ${target} (lamina-opt)"
    VERBATIM)
  add_library(${target} OBJECT "${output}" "${fused}")
  target_include_directories(${target} PRIVATE "${CMAKE_CURRENT_BINARY_DIR}")
  target_link_libraries(${target} PUBLIC ${LAMINA_TARGET_PREFIX}lamina_runtime)
  if(layer_specs)
    lamina_add_layers(${target}_layers ${layer_specs})
    # The layers are checked against their specs before their stacks are generated.
    add_dependencies(${target} ${target}_layers)
    set_target_properties(${target} PROPERTIES LAMINA_LAYERS
                          "${target}_layers;${target}_layers_difftest")
  endif()
endfunction()

# lamina_add_tool(<name> [STACKS <target> ...] [DEMO_SPEC <file.ioa>] [DEMO_STACK <name>]
#                 [WIRE_STACK <name>])
#
# Two programs: <name>, the `lamina` command line (check, sim, run, demo, node, layers,
# difftest, netbench), and <name>-bench, the program that `<name> bench` runs from beside it.
# Both know the standard layers (lamina_components) and the stacks and layers of the STACKS
# targets (of lamina_add_stack(), whose LAYERS are linked too, or other OBJECT libraries that
# register stacks), so that `<name> difftest my.ioa --impl spec,static,dynamic,fused` compares
# a project's own stacks. Their spec imports are looked for beside the importing file and then
# in LAMINA_INCLUDE_ROOT (`import "components"`). `<name> demo` takes the stack DEMO_STACK
# (default ReliableFifo) of DEMO_SPEC (default Lamina's stacks/fifo/fifo.ioa); `<name> node` and
# `<name> netbench`, on a real network, take WIRE_STACK of DEMO_SPEC (default: FlowFifo, which
# has flow and congestion control, with Lamina's DEMO_SPEC; DEMO_STACK with a project's own).
function(lamina_add_tool name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "DEMO_SPEC;DEMO_STACK;WIRE_STACK" "STACKS")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "lamina_add_tool(${name}): unexpected arguments "
                        "'${arg_UNPARSED_ARGUMENTS}'; expected [STACKS <target>...] "
                        "[DEMO_SPEC <file.ioa>] [DEMO_STACK <name>] [WIRE_STACK <name>]")
  endif()
  if(NOT arg_DEMO_SPEC)
    set(arg_DEMO_SPEC "stacks/fifo/fifo.ioa")
    if(NOT arg_WIRE_STACK)
      set(arg_WIRE_STACK "FlowFifo")
    endif()
  else()
    cmake_path(ABSOLUTE_PATH arg_DEMO_SPEC BASE_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}" NORMALIZE)
  endif()
  if(NOT arg_DEMO_STACK)
    set(arg_DEMO_STACK "ReliableFifo")
  endif()
  if(NOT arg_WIRE_STACK)
    set(arg_WIRE_STACK "${arg_DEMO_STACK}")
  endif()
  set(stacks "")
  set(stacks_difftest "")
  foreach(stack IN LISTS arg_STACKS)
    list(APPEND stacks ${stack})
    get_target_property(layers ${stack} LAMINA_LAYERS)
    if(layers)
      list(GET layers 0 registry)
      list(GET layers 1 ops)
      list(APPEND stacks ${registry})
      list(APPEND stacks_difftest ${ops})
    endif()
  endforeach()
  set(p "${LAMINA_TARGET_PREFIX}")
  set(definitions LAMINA_IMPORT_ROOT="${LAMINA_INCLUDE_ROOT}" LAMINA_DEMO_SPEC="${arg_DEMO_SPEC}"
                  LAMINA_DEMO_STACK="${arg_DEMO_STACK}" LAMINA_WIRE_STACK="${arg_WIRE_STACK}")

  add_executable(${name} "${LAMINA_TOOLS_DIR}/lamina_main.cpp")
  target_link_libraries(${name} PRIVATE ${p}lamina_cli ${p}lamina_components
                                        ${p}lamina_components_difftest ${stacks} ${stacks_difftest})
  target_compile_definitions(${name} PRIVATE ${definitions})

  add_executable(${name}-bench "${LAMINA_TOOLS_DIR}/bench_main.cpp")
  target_link_libraries(${name}-bench PRIVATE ${p}lamina_bench ${p}lamina_components ${stacks})
  target_compile_definitions(${name}-bench PRIVATE ${definitions})
  add_dependencies(${name} ${name}-bench)
endfunction()

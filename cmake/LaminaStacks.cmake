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
    COMMAND lamina-opt --check-layers --source-dir "${PROJECT_SOURCE_DIR}" --stamp "${checked}"
            ${specs}
    DEPENDS lamina-opt ${inputs}
    COMMENT "Checking the layers of ${target} against their specs"
    VERBATIM)
  set(output "${CMAKE_CURRENT_BINARY_DIR}/${target}_registry.cpp")
  set(ops "${CMAKE_CURRENT_BINARY_DIR}/${target}_layer_ops.cpp")
  add_custom_command(
    OUTPUT "${output}" "${ops}"
    COMMAND lamina-stackgen --registry --source-dir "${PROJECT_SOURCE_DIR}" -o "${output}"
            --layer-ops "${ops}" ${specs}
    DEPENDS lamina-stackgen ${inputs} "${checked}"
    COMMENT "Registering the layers of ${target}"
    VERBATIM)
  add_library(${target} OBJECT "${output}")
  target_link_libraries(${target} PUBLIC lamina_runtime)
  add_library(${target}_difftest OBJECT "${ops}")
  target_link_libraries(${target}_difftest PUBLIC lamina_difftest)
endfunction()

# lamina_add_stack(<target> SPEC <file.ioa> [SPEC <file.ioa> ...] [STACK <name> ...]
#                  [MUTANTS <file.mutant> ...])
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
# The file is generated again when a SPEC file, a spec it may import (components/*.ioa and the
# .ioa files beside each SPEC), a layer header (components/*.hpp) or lamina-stackgen itself
# changes, and rewritten only when its content changes, so the build stays incremental. A spec
# that does not check, or a layer without a C++ header, fails the build with the diagnostics
# at the stack declaration.
function(lamina_add_stack target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SPEC;STACK;MUTANTS")
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
  file(GLOB component_files CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/components/*.ioa"
       "${PROJECT_SOURCE_DIR}/components/*.hpp")
  list(APPEND inputs ${specs} ${component_files})
  list(REMOVE_DUPLICATES inputs)

  set(stack_options "")
  foreach(name IN LISTS arg_STACK)
    list(APPEND stack_options --stack "${name}")
  endforeach()

  set(output "${CMAKE_CURRENT_BINARY_DIR}/${target}_static.cpp")
  add_custom_command(
    OUTPUT "${output}"
    COMMAND lamina-stackgen --source-dir "${PROJECT_SOURCE_DIR}" -o "${output}" ${specs}
            ${stack_options}
    DEPENDS lamina-stackgen ${inputs}
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
    COMMAND lamina-opt --source-dir "${PROJECT_SOURCE_DIR}" --registry "${fused}" ${specs}
            ${stack_options} ${mutant_options}
    DEPENDS lamina-opt ${inputs} ${arg_MUTANTS}
    COMMENT "Fusing the stacks of ${target} (lamina-opt)"
    VERBATIM)
  add_library(${target} OBJECT "${output}" "${fused}")
  target_include_directories(${target} PRIVATE "${CMAKE_CURRENT_BINARY_DIR}")
  target_link_libraries(${target} PUBLIC lamina_runtime)
endfunction()

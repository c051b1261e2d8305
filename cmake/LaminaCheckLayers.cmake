# lamina_check_layers(<target> DIR <dir>... [INCLUDE <dir>...])
#
# Checks at build time that every C++ layer in the directories agrees with its spec: for each
# `foo.ioa` that declares a layer, `lamina::Foo` in `foo.hpp` beside it (lamina-opt
# --check-layers; optimizer/check_layers.hpp says what is compared). Files that declare no
# layer, such as components/layers.ioa which only imports the others, are left out. The check
# runs again when a .ioa or .hpp of the directories, or lamina-opt, changes; <target> is built
# by `all`. INCLUDE: more include roots for the layers' headers (the project's root always is).
function(lamina_check_layers target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "DIR;INCLUDE")
  if(NOT arg_DIR)
    message(FATAL_ERROR "lamina_check_layers(${target}): give DIR <dir>...")
  endif()
  set(specs)
  set(depends)
  foreach(dir ${arg_DIR})
    get_filename_component(dir ${dir} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
    file(GLOB ioa CONFIGURE_DEPENDS ${dir}/*.ioa)
    file(GLOB hpp CONFIGURE_DEPENDS ${dir}/*.hpp)
    list(APPEND depends ${ioa} ${hpp})
    foreach(file ${ioa})
      file(STRINGS ${file} layer_lines REGEX "^[ \t]*layer[ \t]")
      if(layer_lines)
        list(APPEND specs ${file})
      endif()
    endforeach()
  endforeach()
  set(includes)
  foreach(dir ${arg_INCLUDE})
    get_filename_component(dir ${dir} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
    list(APPEND includes -I ${dir})
  endforeach()
  set(stamp ${CMAKE_CURRENT_BINARY_DIR}/${target}.stamp)
  add_custom_command(
    OUTPUT ${stamp}
    COMMAND lamina-opt --check-layers --source-dir ${PROJECT_SOURCE_DIR} ${includes}
            --stamp ${stamp} ${specs}
    DEPENDS ${depends} lamina-opt
    COMMENT "Checking the layers of ${arg_DIR} against their specs"
    VERBATIM)
  add_custom_target(${target} ALL DEPENDS ${stamp})
endfunction()

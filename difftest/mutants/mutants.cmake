# The mutants of the layers (difftest/mutants.hpp): each difftest/mutants/<name>.mutant changes a
# few lines of a layer in components/ (format: difftest/mutate.cpp). At build time lamina-mutate
# writes mutants/<name>.hpp, the mutated layer in namespace lamina::mutants::<name>, mutants.cpp,
# the list of them, and mutants_<k>.cpp, which make them, into this directory's build directory.
add_executable(lamina-mutate ${CMAKE_CURRENT_SOURCE_DIR}/mutate.cpp)
target_link_libraries(lamina-mutate PRIVATE lamina_spec fmt::fmt CLI11::CLI11)

file(GLOB LAMINA_MUTANT_FILES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/mutants/*.mutant)
list(SORT LAMINA_MUTANT_FILES)
# Any layer may be the source of a mutant; a change to one may break a mutant's `from` text.
file(GLOB LAMINA_LAYER_HEADERS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/components/*.hpp)

# The mutants are made in this many sources, each a few layers' mutants, so that the build
# compiles them side by side (in one file they took about five minutes of one core).
set(LAMINA_MUTANT_SHARDS 4)
set(LAMINA_MUTANT_SOURCES ${CMAKE_CURRENT_BINARY_DIR}/mutants.cpp)
math(EXPR lamina_last_shard "${LAMINA_MUTANT_SHARDS} - 1")
foreach(k RANGE ${lamina_last_shard})
  list(APPEND LAMINA_MUTANT_SOURCES ${CMAKE_CURRENT_BINARY_DIR}/mutants_${k}.cpp)
endforeach()
set(lamina_mutant_outputs ${LAMINA_MUTANT_SOURCES})
foreach(mutant_file IN LISTS LAMINA_MUTANT_FILES)
  get_filename_component(mutant_name ${mutant_file} NAME_WE)
  list(APPEND lamina_mutant_outputs ${CMAKE_CURRENT_BINARY_DIR}/mutants/${mutant_name}.hpp)
endforeach()

add_custom_command(
  OUTPUT ${lamina_mutant_outputs}
  COMMAND lamina-mutate --source-dir ${PROJECT_SOURCE_DIR} --output-dir ${CMAKE_CURRENT_BINARY_DIR}
          --shards ${LAMINA_MUTANT_SHARDS} ${LAMINA_MUTANT_FILES}
  DEPENDS lamina-mutate ${LAMINA_MUTANT_FILES} ${LAMINA_LAYER_HEADERS}
  COMMENT "Writing the mutants of the layers (difftest/mutants/*.mutant)"
  VERBATIM)

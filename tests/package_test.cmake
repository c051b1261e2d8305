# The test package.example_builds_against_install (tests/CMakeLists.txt), run as
# `cmake -D... -P package_test.cmake`: installs this build into a scratch prefix, then builds
# examples/counter against it, as a project of its own would, and runs the example's tests.
# Then the same example with its layer's C++ made to disagree with its spec: its build must
# fail, at the check of the layer, with the error at the C++ member. Fails at the first step
# that does not go as expected.
#
#   -DBUILD_DIR=<this build> -DSOURCE_DIR=<the source tree> -DSCRATCH=<a scratch folder>
#   -DGENERATOR=<...> -DCXX=<the C++ compiler> -DBUILD_TYPE=<...> [-DCXX_FLAGS=<...>]
foreach(var BUILD_DIR SOURCE_DIR SCRATCH GENERATOR CXX BUILD_TYPE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "package_test.cmake: -D${var}=... is missing")
  endif()
endforeach()

# Runs a command; fails the test unless its exit status is 0 (or, with FAILS, not 0).
function(step what)
  cmake_parse_arguments(PARSE_ARGV 1 arg "FAILS" "OUTPUT" "COMMAND")
  string(TIMESTAMP start "%s")
  execute_process(COMMAND ${arg_COMMAND} RESULT_VARIABLE status OUTPUT_VARIABLE out
                  ERROR_VARIABLE out)
  string(TIMESTAMP end "%s")
  math(EXPR seconds "${end} - ${start}")
  if(arg_FAILS AND status EQUAL 0)
    message(FATAL_ERROR "${what}: succeeded but should have failed:\n${out}")
  elseif(NOT arg_FAILS AND NOT status EQUAL 0)
    message(FATAL_ERROR "${what}: failed (${status}):\n${out}")
  endif()
  message(STATUS "${what}: ok, ${seconds} s")
  if(arg_OUTPUT)
    set(${arg_OUTPUT} "${out}" PARENT_SCOPE)
  endif()
endfunction()

set(prefix "${SCRATCH}/prefix")
file(REMOVE_RECURSE "${SCRATCH}")
file(MAKE_DIRECTORY "${SCRATCH}")
step("cmake --install into ${prefix}"
     COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}")

# The example as its own project, with nothing of the source tree but its folder.
set(example "${SCRATCH}/counter")
file(COPY "${SOURCE_DIR}/examples/counter/" DESTINATION "${example}")
set(configure "${CMAKE_COMMAND}" -G "${GENERATOR}" "-DCMAKE_PREFIX_PATH=${prefix}"
              "-DCMAKE_CXX_COMPILER=${CXX}" "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}"
              "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}")
step("configure the example" COMMAND ${configure} -S "${example}" -B "${example}/build")
step("build the example" COMMAND "${CMAKE_COMMAND}" --build "${example}/build" --parallel 2)
step("the example's tests" COMMAND "${CMAKE_CTEST_COMMAND}" --test-dir "${example}/build"
                                   --output-on-failure OUTPUT tests)
message(STATUS "${tests}")

# A layer whose C++ disagrees with its spec does not build: `sent` made 64-bit in the class.
set(broken "${SCRATCH}/broken")
file(COPY "${SOURCE_DIR}/examples/counter/" DESTINATION "${broken}")
file(READ "${broken}/layers/msg_count.hpp" header)
string(REPLACE "std::uint32_t sent = 0;" "std::uint64_t sent = 0;" header "${header}")
file(WRITE "${broken}/layers/msg_count.hpp" "${header}")
step("configure the broken example" COMMAND ${configure} -S "${broken}" -B "${broken}/build")
step("build the broken example" FAILS OUTPUT out
     COMMAND "${CMAKE_COMMAND}" --build "${broken}/build" --target counter_stacks_layers)
if(NOT out MATCHES "msg_count.hpp:[0-9]+:[0-9]+: error: [^\n]*sent")
  message(FATAL_ERROR "the broken example failed, but not with an error at MsgCount::sent:\n"
                      "${out}")
endif()
message(STATUS "the broken example fails at the check of its layer, as it should")

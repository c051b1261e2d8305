// The main function of a `lamina` program: the repository's, and each one a project makes with
// lamina_add_tool() (cmake/LaminaStacks.cmake), which compiles this file with its settings and
// links it with its layers and stacks. The command line itself is tools/lamina.cpp.
#include "tools/tool.hpp"

#if !defined(LAMINA_IMPORT_ROOT) || !defined(LAMINA_DEMO_SPEC) || !defined(LAMINA_DEMO_STACK) ||   \
    !defined(LAMINA_WIRE_STACK)
#error                                                                                             \
    "lamina_add_tool() defines LAMINA_IMPORT_ROOT, LAMINA_DEMO_SPEC, LAMINA_DEMO_STACK and LAMINA_WIRE_STACK"
#endif

int main(int argc, char** argv) {
  const lamina::tools::ToolConfig config{
      {LAMINA_IMPORT_ROOT}, LAMINA_DEMO_SPEC, LAMINA_DEMO_STACK, LAMINA_WIRE_STACK};
  return lamina::tools::lamina_main(argc, argv, config);
}

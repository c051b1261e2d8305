// xml_wellformed FILE...: exits 0 when every file is a well-formed SVG document
// (xml_wellformed.hpp), and otherwise prints what is wrong and exits 1. The tests run it on
// what `lamina clocks --svg` writes.
#include <fstream>
#include <iostream>
#include <sstream>

#include "tests/xml_wellformed.hpp"

int main(int argc, char** argv) {
  int status = argc > 1 ? 0 : 2;
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in) {
      std::cerr << argv[i] << ": cannot read\n";
      status = 1;
    } else if (const auto problem = lamina::xml_check::svg_problem(text.str())) {
      std::cerr << argv[i] << ": " << *problem << "\n";
      status = 1;
    }
  }
  return status;
}

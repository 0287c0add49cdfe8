/* skip_test — stands in for a test whose interpreter or modules are missing:
 * prints why (argv[1]) and exits 77, which meson reports as SKIP. */
#include <stdio.h>

int main(int argc, char **argv) {
  fprintf(stderr, "SKIP: %s\n", argc > 1 ? argv[1] : "a requirement of this test is missing");
  return 77;
}

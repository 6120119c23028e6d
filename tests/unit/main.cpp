// GoogleTest entry for the lib/ unit tests. rte_hash needs EAL memory, so EAL starts once here
// without hugepages, PCI or shared config: nothing on the machine is touched.
#include <gtest/gtest.h>
#include <rte_eal.h>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const char* eal_argv[] = {"mpf-unit-tests", "--no-huge", "-m", "256", "--no-pci",
                            "--no-shconf", "--log-level=error", "-l", "0"};
  if (rte_eal_init(int(sizeof(eal_argv) / sizeof(eal_argv[0])), const_cast<char**>(eal_argv)) < 0)
    return 1;
  int rc = RUN_ALL_TESTS();
  rte_eal_cleanup();
  return rc;
}

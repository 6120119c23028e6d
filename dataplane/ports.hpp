// Opening the appliance's ports: one RX queue per worker (as far as the device has them), one TX
// queue per lcore that sends, promiscuous off where the device allows it.
#pragma once
#include <string>

#include "app.hpp"

namespace mpf::dp {

// Names of every ethdev EAL probed (PCI addresses, vdev names).
std::vector<std::string> eal_port_names();

// Configures and starts every port of app.cfg; fills app.ports / by_port_id / lan / wan /
// path_ports. False with *error (and ports left as they are) on failure.
bool open_ports(App& app, std::string* error);

// Closes the ports (shutdown; stop them first).
void close_ports(App& app);

}  // namespace mpf::dp

// A node is configured by NodeConfig: users of Node get it with Node.
@_exported import NodeConfiguration

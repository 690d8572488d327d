@0xdf4c351192f129f1;
# Networking: the raw-frame Nic a NIC driver serves to the network stack, and
# the socket interfaces the network stack serves to applications.

enum NetError {
  linkDown @0;
  tooLarge @1;
  queueFull @2;
  addressInUse @3;
  refused @4;
  reset @5;
  closed @6;
  malformedAddress @7;
  ipv6Unsupported @8;
  unreachable @9;
  notConfigured @10;
}

struct NetResult {
  union {
    ok @0 :Void;
    error @1 :NetError;
  }
}

enum IpAddressFamily {
  ipv4 @0;
  ipv6 @1;
}

struct IpAddress {
  family @0 :IpAddressFamily;
  bytes @1 :Data;           # 4 bytes for ipv4, 16 for ipv6
}

struct SocketAddress {
  address @0 :IpAddress;
  port @1 :UInt16;
}

# ---- Nic: raw Ethernet frames ----

interface Nic {
  info @0 () -> (info :NicInfo);
  transmit @1 (frame :Data) -> (result :NetResult);
  receivePoll @2 (timeoutNs :UInt64) -> (result :NicReceiveResult);
}

struct NicInfo {
  mac @0 :Data;             # 6 bytes
  mtu @1 :UInt16;
  linkUp @2 :Bool;
}

struct NicReceiveResult {
  union {
    frame @0 :Data;
    empty @1 :Void;
    error @2 :NetError;
  }
}

# ---- NetworkManager and sockets ----

interface NetworkManager {
  getConfig @0 () -> (config :NetConfig);
  listenTcp @1 (local :SocketAddress, backlog :UInt16) -> (result :ListenResult);
  connectTcp @2 (remote :SocketAddress, timeoutNs :UInt64) -> (result :ConnectResult);
}

struct NetConfig {
  configured @0 :Bool;      # a DHCP lease or static config is active
  family @1 :IpAddressFamily;
  address @2 :IpAddress;
  prefixLength @3 :UInt8;
  gateway @4 :IpAddress;
  dns @5 :List(IpAddress);
  ipv6Supported @6 :Bool;
  mtu @7 :UInt16;
}

struct ListenResult {
  union {
    listener @0 :TcpListener;
    error @1 :NetError;
  }
}

struct ConnectResult {
  union {
    socket @0 :TcpSocket;
    error @1 :NetError;
  }
}

interface TcpListener {
  accept @0 (timeoutNs :UInt64) -> (result :AcceptResult);
  localAddress @1 () -> (address :SocketAddress);
  close @2 () -> (result :NetResult);
}

struct AcceptResult {
  union {
    socket @0 :TcpSocket;
    timedOut @1 :Void;
    error @2 :NetError;
  }
}

interface TcpSocket {
  send @0 (data :Data) -> (result :SendResult);
  receive @1 (maxBytes :UInt32, timeoutNs :UInt64) -> (result :ReceiveResult);
  shutdown @2 () -> (result :NetResult);  # half-close: no more sends
  close @3 () -> (result :NetResult);
  peerAddress @4 () -> (address :SocketAddress);
}

struct SendResult {
  union {
    sent @0 :UInt32;        # may be less than asked (backpressure)
    error @1 :NetError;
  }
}

struct ReceiveResult {
  union {
    data @0 :Data;
    endOfStream @1 :Void;
    timedOut @2 :Void;
    error @3 :NetError;
  }
}

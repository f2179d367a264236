//! Requirements: pairs are even/odd and inside the range; both ports are really bound; a port
//! held by someone else is skipped; exhaustion is an error; dropping a pair frees it (RAII);
//! degenerate ranges are rejected.

use std::net::{IpAddr, Ipv4Addr, UdpSocket};

use crate::media::{PortAllocator, PortError};

const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

#[tokio::test]
async fn pairs_are_even_bound_and_released() {
    let alloc = PortAllocator::new(LO, 31000..=31003).expect("range");
    let p1 = alloc.allocate().await.expect("first pair");
    let p2 = alloc.allocate().await.expect("second pair");
    assert_eq!(p1.rtp_port() % 2, 0);
    assert_eq!(p1.rtcp_port(), p1.rtp_port() + 1);
    assert_ne!(p1.rtp_port(), p2.rtp_port());
    assert_eq!(alloc.in_use(), 2);
    // Really bound: nobody else can take them.
    assert!(UdpSocket::bind(p1.rtp_addr()).is_err());
    assert!(UdpSocket::bind(p1.rtcp_addr()).is_err());
    assert!(matches!(
        alloc.allocate().await,
        Err(PortError::Exhausted { .. })
    ));
    let freed = p1.rtp_addr();
    drop(p1);
    assert_eq!(alloc.in_use(), 1);
    assert!(
        UdpSocket::bind(freed).is_ok(),
        "port bindable again after drop"
    );
    let p3 = alloc.allocate().await.expect("freed pair is reusable");
    assert_eq!(p3.rtp_addr(), freed);
    drop((p2, p3));
    assert_eq!(alloc.in_use(), 0);
}

#[tokio::test]
async fn skips_ports_in_use_elsewhere() {
    let squatter = UdpSocket::bind("127.0.0.1:31005").expect("test squatter binds");
    let alloc = PortAllocator::new(LO, 31004..=31009).expect("range");
    let a = alloc.allocate().await.expect("pair");
    let b = alloc.allocate().await.expect("pair");
    // 31004 is unusable because its RTCP port 31005 is taken.
    assert_eq!((a.rtp_port(), b.rtp_port()), (31006, 31008));
    assert!(alloc.allocate().await.is_err());
    drop(squatter);
}

#[test]
fn ranges_trimmed_to_pairs() {
    assert!(matches!(
        PortAllocator::new(LO, 31001..=31002),
        Err(PortError::EmptyRange { .. })
    ));
    assert!(matches!(
        PortAllocator::new(LO, 65535..=65535),
        Err(PortError::EmptyRange { .. })
    ));
    assert!(matches!(
        PortAllocator::new(LO, 0..=1),
        Err(PortError::EmptyRange { .. })
    ));
    assert!(PortAllocator::new(LO, 65534..=65535).is_ok());
    assert!(PortAllocator::new(LO, 31001..=31003).is_ok());
    assert!(PortAllocator::with_default_range(LO).is_ok());
}

#[tokio::test]
async fn non_local_address_is_an_error_not_exhaustion() {
    // TEST-NET-1 is never a local address, so bind fails with AddrNotAvailable at once.
    let alloc = PortAllocator::new("192.0.2.1".parse().expect("ip"), 31000..=31099).expect("range");
    assert!(matches!(alloc.allocate().await, Err(PortError::Io(_))));
    assert_eq!(alloc.in_use(), 0);
}

#[test]
fn handles_and_futures_are_send() {
    // The call layer spawns these onto a multi-threaded runtime: they must be Send.
    fn assert_send<T: Send>(_: &T) {}
    fn assert_send_sync<T: Send + Sync>() {}
    let alloc = PortAllocator::new(LO, 31000..=31001).expect("range");
    assert_send(&alloc.allocate());
    assert_send_sync::<PortAllocator>();
    assert_send_sync::<crate::media::PortPair>();
    assert_send_sync::<crate::media::RelayHandle>();
}

//! `X-Forwarded-For` behind trusted proxies: the client is the peer, or an
//! address right of which every entry is a trusted proxy.
#![no_main]
use std::net::IpAddr;

use gatehouse::config::parse_cidr_list;
use gatehouse::session::extract::forwarded_client;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // peer (16 bytes: an IPv6 or, when the first is 0, IPv4), then the trusted
    // list and the header values separated by 0xff bytes.
    if data.len() < 17 {
        return;
    }
    let (peer, rest) = data.split_at(16);
    let peer: IpAddr = if peer[0] == 0 {
        IpAddr::from([peer[1], peer[2], peer[3], peer[4]])
    } else {
        IpAddr::from(<[u8; 16]>::try_from(peer).unwrap())
    };
    let mut parts = rest.split(|b| *b == 0xff);
    let Some(Ok(trusted)) = parts
        .next()
        .map(|t| std::str::from_utf8(t).map(parse_cidr_list))
    else {
        return;
    };
    let Ok(trusted) = trusted else {
        return;
    };
    let values: Vec<&[u8]> = parts.collect();
    let got = forwarded_client(peer, values.iter().copied(), &trusted);
    if got == peer {
        return;
    }
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    assert!(is_trusted(&peer) && !is_trusted(&got));
    let chain: Vec<IpAddr> = values
        .iter()
        .flat_map(|v| std::str::from_utf8(v).unwrap().split(','))
        .map(|e| e.trim().parse().unwrap())
        .collect();
    let at = chain
        .iter()
        .rposition(|ip| *ip == got)
        .expect("from the header");
    assert!(chain[at + 1..].iter().all(is_trusted));
});

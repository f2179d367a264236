//! SDP bodies used by the tests, written out by hand with their source named.
//! Addresses are documentation ranges (RFC 5737) or the RFCs' own example host names.

/// RFC 4566 §5 example (multicast c= with TTL, i=, u=, e=, session recvonly).
pub const RFC4566_EXAMPLE: &str = "v=0\r\n\
o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5\r\n\
s=SDP Seminar\r\n\
i=A Seminar on the session description protocol\r\n\
u=http://www.example.com/seminars/sdp.pdf\r\n\
e=j.doe@example.com (Jane Doe)\r\n\
c=IN IP4 224.2.17.12/127\r\n\
t=2873397496 2873404696\r\n\
a=recvonly\r\n\
m=audio 49170 RTP/AVP 0\r\n\
m=video 51372 RTP/AVP 99\r\n\
a=rtpmap:99 h263-1998/90000\r\n";

/// RFC 4317 §2.1 offer (audio + video, host name in c=).
pub const RFC4317_OFFER: &str = "v=0\r\n\
o=alice 2890844526 2890844526 IN IP4 host.atlanta.example.com\r\n\
s=\r\n\
c=IN IP4 host.atlanta.example.com\r\n\
t=0 0\r\n\
m=audio 49170 RTP/AVP 0 8 97\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:97 iLBC/8000\r\n\
m=video 51372 RTP/AVP 31 32\r\n\
a=rtpmap:31 H261/90000\r\n\
a=rtpmap:32 MPV/90000\r\n";

/// RFC 3264 §10.1 answer style: one stream rejected with port 0.
pub const RFC3264_ANSWER: &str = "v=0\r\n\
o=bob 2808844564 2808844564 IN IP4 192.0.2.2\r\n\
s= \r\n\
c=IN IP4 192.0.2.2\r\n\
t=0 0\r\n\
m=audio 49920 RTP/AVP 0\r\n\
a=rtpmap:0 PCMU/8000\r\n\
m=video 0 RTP/AVP 31\r\n\
m=video 53000 RTP/AVP 32\r\n\
a=rtpmap:32 MPV/90000\r\n";

/// Linphone-style offer: LF-only line ends, opus + speex + G.711, a=rtcp (RFC 3605), rtcp-fb,
/// session-level vendor attributes, media-level c=.
pub const LINPHONE_OFFER: &str = "v=0\n\
o=alice 1234 5678 IN IP4 192.0.2.20\n\
s=Talk\n\
c=IN IP4 192.0.2.20\n\
t=0 0\n\
a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics\n\
a=record:off\n\
m=audio 7078 RTP/AVP 96 97 98 0 8 101 99 100\n\
c=IN IP4 198.51.100.7\n\
a=rtpmap:96 opus/48000/2\n\
a=fmtp:96 useinbandfec=1\n\
a=rtpmap:97 speex/16000\n\
a=fmtp:97 vbr=on\n\
a=rtpmap:98 speex/8000\n\
a=rtpmap:101 telephone-event/48000\n\
a=rtpmap:99 telephone-event/16000\n\
a=rtpmap:100 telephone-event/8000\n\
a=rtcp:7079 IN IP4 198.51.100.7\n\
a=rtcp-fb:* trr-int 1000\n\
a=rtcp-fb:* ccm tmmbr\n\
m=video 9078 RTP/AVP 96\n\
a=rtpmap:96 VP8/90000\n\
a=rtcp-fb:* trr-int 1000\n\
a=rtcp-fb:96 nack pli\n";

/// baresip-style offer: G.711 + telephone-event, ptime, rtcp-rsize, ssrc, trailing space on a
/// property attribute (seen in the wild).
pub const BARESIP_OFFER: &str = "v=0\r\n\
o=- 1187312402 3862183003 IN IP4 192.0.2.5\r\n\
s=-\r\n\
c=IN IP4 192.0.2.5\r\n\
t=0 0\r\n\
m=audio 10398 RTP/AVP 0 8 101\r\n\
b=AS:64\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=sendrecv \r\n\
a=label:1\r\n\
a=rtcp-rsize\r\n\
a=ssrc:3344556677 cname:6a2ba5f4c2c3d5e1\r\n\
a=ptime:20\r\n";

/// Carrier-style offer (SBC on a trunk): G.729 + G.711 + telephone-event, ptime, maxptime,
/// a vendor unknown line type, bandwidth, multiple timings.
pub const CARRIER_OFFER: &str = "v=0\r\n\
o=Sonus_UAC 123456 654321 IN IP4 203.0.113.10\r\n\
s=SIP Media Capabilities\r\n\
c=IN IP4 203.0.113.10\r\n\
b=CT:384\r\n\
t=0 0\r\n\
m=audio 20500 RTP/AVP 18 0 8 101\r\n\
b=TIAS:64000\r\n\
a=rtpmap:18 G729/8000\r\n\
a=fmtp:18 annexb=no\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=sendrecv\r\n\
a=ptime:20\r\n\
a=maxptime:40\r\n";

/// T.38 re-INVITE offer (ITU-T T.38 Annex D SDP).
pub const T38_OFFER: &str = "v=0\r\n\
o=- 1 2 IN IP4 203.0.113.10\r\n\
s=-\r\n\
c=IN IP4 203.0.113.10\r\n\
t=0 0\r\n\
m=image 40000 udptl t38\r\n\
a=T38FaxVersion:0\r\n\
a=T38MaxBitRate:14400\r\n\
a=T38FaxRateManagement:transferredTCF\r\n\
a=T38FaxMaxBuffer:262\r\n\
a=T38FaxMaxDatagram:176\r\n\
a=T38FaxUdpEC:t38UDPRedundancy\r\n";

/// Every valid vector, for round-trip and mutation seeds.
pub const ALL: &[&str] = &[
    RFC4566_EXAMPLE,
    RFC4317_OFFER,
    RFC3264_ANSWER,
    LINPHONE_OFFER,
    BARESIP_OFFER,
    CARRIER_OFFER,
    T38_OFFER,
];

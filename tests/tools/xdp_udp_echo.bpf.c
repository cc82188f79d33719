// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_udp_echo.bpf.c — 比較表的「這台機器的物理上限」一列：在驅動程式裡就回音的 UDP echo（XDP_TX）
 *
 * 封包完全不離開 XDP：收到送往 ECHO_PORT 的 IPv4 UDP，就地對調 MAC、IP 與 UDP 埠，XDP_TX 從原介面送回。
 * 對調來源與目的不改變 IPv4 標頭與 UDP 的檢查和（反補數和與加的順序無關），所以不必重算。
 * 來源埠是 ECHO_PORT 或小於 1024 的不回（兩個 echo 互相回應的迴圈、放大攻擊），其餘一切 XDP_PASS。
 * 沒有使用者空間、沒有 socket、沒有系統呼叫：任何 echo 伺服器都不可能比它快，也就是量測儀器能看到的上限。
 *
 * 編譯：clang -O2 -g -target bpf -c xdp_udp_echo.bpf.c（make tools）
 * 掛上：ip link set dev IFACE xdpdrv obj xdp_udp_echo.bpf.o sec xdp    卸下：ip link set dev IFACE xdpdrv off
 * veth 注意：XDP_TX 的封包由另一端的 NAPI 接收，另一端要開 GRO（ethtool -K PEER gro on）或也掛一個 XDP 程式。
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef ECHO_PORT
#define ECHO_PORT 19000
#endif

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} echo_cnt SEC(".maps");

SEC("xdp")
int xdp_udp_echo(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	if (ip->ihl != 5 || ip->protocol != IPPROTO_UDP || (ip->frag_off & bpf_htons(0x3fff)))
		return XDP_PASS; /* 有選項、不是 UDP、分段：交給核心 */
	struct udphdr *udp = (void *)(ip + 1);

	if ((void *)(udp + 1) > end || udp->dest != bpf_htons(ECHO_PORT))
		return XDP_PASS;
	if (udp->source == bpf_htons(ECHO_PORT) || bpf_ntohs(udp->source) < 1024)
		return XDP_DROP; /* 不回應可能是另一個 echo 的封包 */

	__u8 mac[ETH_ALEN];
	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	__be32 a = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = a;
	__be16 p = udp->source;
	udp->source = udp->dest;
	udp->dest = p;

	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&echo_cnt, &k);
	if (v)
		*v += 1;
	return XDP_TX;
}

char _license[] SEC("license") = "GPL";

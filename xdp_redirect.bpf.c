// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_redirect.bpf.c — af_xdp_socket 的 XDP 程式（核心端的「分流器」）
 *
 * 每個封包進入網卡佇列時先執行這段程式，決定它的去向：
 *   - 使用者要的流量（送給這個介面的 UDP、目的埠 == udp_port，或 --all 時全部）→ XDP_REDIRECT 到
 *     XSKMAP 中「這個接收佇列」的 AF_XDP socket，由使用者空間直接從 UMEM 讀取；
 *   - 其餘一切（ARP、ICMP、TCP、SSH、送給別人的封包……）→ XDP_PASS，照常交給核心網路堆疊，
 *     所以在真實網卡上執行也不會把自己的 SSH 連線切斷。
 * 「送給這個介面」：目的 MAC 是介面的 MAC（廣播與多播只在 --broadcast 時算），介面有 IPv4 位址時
 * 目的 IPv4 也必須是其中之一。混雜模式、橋接或偽造的訊框因此不會進 socket（echo 不會替別人回應）。
 *
 * 使用者空間透過兩個 map 與它溝通：
 *   xsk_cfg   （ARRAY，1 筆）  使用者寫入：要攔截的 UDP 埠、是否全部攔截、介面的 MAC 與 IPv4、擁有者 PID
 *   xsk_stats （PERCPU_ARRAY）  這裡累加：redirected / passed / no_socket / not_local，使用者加總後印出
 * 擁有者 PID 只是給人看的資訊（ip link / bpftool 查得到誰掛的）；「另一個實例是否還在執行」由
 * af_xdp_socket 用 /run 下的 flock 鎖判斷，不靠 PID。
 *
 * 多佇列：XSKMAP 的 key 是 ctx->rx_queue_index，每個接收佇列的封包只導向綁在那個佇列上的 socket（--queues）。
 * jumbo（--jumbo）：af_xdp_socket 以 BPF_F_XDP_HAS_FRAGS 載入這個程式（等於 SEC("xdp.frags")），它只讀第一個 buffer 的標頭。
 * 兩埠轉送（--fwd-if）：xsk_cfg.wire = 1，不比對目的 MAC／IP。
 *
 * 編譯：clang -O2 -g -target bpf -c xdp_redirect.bpf.c -o xdp_redirect.bpf.o（-g 產生 BTF，
 *       libxdp 的 dispatcher 需要它）。需要核心 5.3+（bpf_redirect_map 的 flags 參數可指定找不到 socket 時的動作）。
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define MAX_QUEUES 64 /* XSKMAP 的項目數 = 最多支援的接收佇列 */
#define MAX_IP4 4     /* 最多比對介面的幾個 IPv4 位址 */

/* 與 af_xdp_socket.cpp 的 XskCfg 相同的排列（兩邊各自定義，欄位順序不可改） */
struct xsk_cfg {
	__u32 owner_pid;  /* 載入這個程式的 af_xdp_socket 的 PID（資訊用） */
	__u16 udp_port;   /* 主機位元組序；0 = 什麼都不攔截 */
	__u8 all;         /* 1 = 所有封包都導向 socket */
	__u8 broadcast;   /* 1 = 目的 MAC 是廣播或多播的也算送給我們 */
	__u8 mac[6];      /* 介面的 MAC */
	__u8 n_ip4;       /* ip4[] 裡有幾個；0 = 介面沒有 IPv4 位址，不比對 IP */
	__u8 wire;        /* 1 = 兩埠轉送（--fwd-if）：封包是給另一邊的主機的，不比對目的 MAC／IP */
	__be32 ip4[MAX_IP4]; /* 介面的 IPv4 位址（網路位元組序） */
};

enum { STAT_REDIRECTED = 0, STAT_PASSED = 1, STAT_NO_SOCKET = 2, STAT_NOT_LOCAL = 3, STAT_MAX };

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xsk_cfg);
} xsk_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); /* 每顆 CPU 一份：累加不需要原子操作 */
	__uint(max_entries, STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} xsk_stats SEC(".maps");

static __always_inline int count(__u32 key, int action)
{
	__u64 *v = bpf_map_lookup_elem(&xsk_stats, &key);

	if (v)
		*v += 1;
	return action;
}

// 8< parse
/* 回傳 UDP 目的埠（主機位元組序），不是 UDP 則回傳 0；是 IPv4 時把目的位址放進 *dst4（否則 0）。
 * 每次讀取前都先和 data_end 比較：驗證器（verifier）要看到這個邊界檢查才肯載入。 */
static __always_inline __u16 udp_dest_port(void *data, void *data_end, __be32 *dst4)
{
	struct ethhdr *eth = data;
	__u16 proto;
	void *l3;
	__u8 l4proto;
	struct udphdr *udp;

	if ((void *)(eth + 1) > data_end)
		return 0;
	proto = eth->h_proto;
	l3 = eth + 1;

	/* 至多一層 VLAN 標籤（802.1Q 或 802.1ad） */
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_hdr {
			__be16 tci;
			__be16 proto;
		} *vlan = l3;

		if ((void *)(vlan + 1) > data_end)
			return 0;
		proto = vlan->proto;
		l3 = vlan + 1;
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = l3;

		if ((void *)(ip + 1) > data_end || ip->ihl < 5)
			return 0;
		/* 非第一個的 IP 分段沒有 UDP 標頭 */
		if (ip->frag_off & bpf_htons(0x1fff))
			return 0;
		l4proto = ip->protocol;
		*dst4 = ip->daddr;
		udp = (void *)ip + ip->ihl * 4;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;

		if ((void *)(ip6 + 1) > data_end)
			return 0;
		/* 只看緊接著的標頭：帶延伸標頭的 IPv6 一律交給核心 */
		l4proto = ip6->nexthdr;
		udp = (void *)(ip6 + 1);
	} else {
		return 0;
	}

	if (l4proto != IPPROTO_UDP || (void *)(udp + 1) > data_end)
		return 0;
	return bpf_ntohs(udp->dest);
}
// >8 parse

/* 目的 MAC 與（有設定時）目的 IPv4 是不是這個介面的 */
static __always_inline int is_local(const struct xsk_cfg *cfg, const struct ethhdr *eth, __be32 dst4)
{
	int i;

	if (eth->h_dest[0] & 1) { /* 廣播與多播：MAC 第一個位元組的最低位元 */
		if (!cfg->broadcast)
			return 0;
	} else {
		for (i = 0; i < 6; i++) /* 逐位元組比較（BPF 沒有 memcmp） */
			if (eth->h_dest[i] != cfg->mac[i])
				return 0;
	}
	if (cfg->n_ip4 == 0 || dst4 == 0) /* 介面沒有 IPv4，或這是 IPv6 */
		return 1;
	for (i = 0; i < MAX_IP4; i++)
		if (i < cfg->n_ip4 && cfg->ip4[i] == dst4)
			return 1;
	return 0;
}

// 8< xdp_prog
SEC("xdp")
int kb_xsk_redirect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 zero = 0, queue = ctx->rx_queue_index;
	long act;
	struct xsk_cfg *cfg = bpf_map_lookup_elem(&xsk_cfg, &zero);

	if (!cfg)
		return count(STAT_PASSED, XDP_PASS);

	/* 不是要攔截的流量：交給核心堆疊（ARP、ping、TCP 照常運作） */
	if (!cfg->all) {
		__be32 dst4 = 0;
		__u16 port = udp_dest_port(data, data_end, &dst4);

		if (port == 0 || port != cfg->udp_port)
			return count(STAT_PASSED, XDP_PASS);
		/* 埠對了，但不是送給這個介面的（別人的 MAC、別人的 IP）：也交給核心，
		 * 核心會當成 PACKET_OTHERHOST 丟掉——echo 不該替別的主機回應。
		 * 兩埠轉送（wire）例外：那裡的封包本來就是給線另一頭的主機的。
		 * udp_dest_port 回傳非 0 時已確認乙太網路標頭在 data_end 之內。 */
		if (!cfg->wire && !is_local(cfg, data, dst4))
			return count(STAT_NOT_LOCAL, XDP_PASS);
	}

	/* 導向該佇列的 AF_XDP socket。第三個參數是查不到時的動作：這個佇列沒有綁定 socket
	 * （txonly 模式、程式剛啟動或剛關閉）就回傳 XDP_PASS 交給核心，不必先另外查一次 map。 */
	act = bpf_redirect_map(&xsks_map, queue, XDP_PASS);
	return count(act == XDP_REDIRECT ? STAT_REDIRECTED : STAT_NO_SOCKET, act);
}
// >8 xdp_prog

char _license[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_livegen.bpf.c — 測試用的三個小 XDP 程式（給 tests/tools/xdp_livegen.cpp 用）
 *
 *   livegen_tx  產生器：bpf_prog_test_run_opts(BPF_F_TEST_XDP_LIVE_FRAMES) 把一個樣板訊框
 *               重複執行 repeat 次，每次回傳 XDP_TX，核心就把它當成真的封包從 ingress 介面送出
 *               （veth 會把它交給另一端）。速度遠高於任何 socket 發送端。
 *   livegen_paced 定速的產生器：照 pace 裡的間隔，時間到了才 XDP_TX，還沒到就 XDP_DROP（樣板訊框回收，
 *               幾十 ns）。每次 test_run 的固定成本在這台機器上約 25 ms，所以不能靠使用者空間分小批定速；
 *               在程式裡看時鐘，送出的間隔是平均的，不是一批一批的。送出前把標頭（前 42 bytes）從 livegen_hdr
 *               寫回去：LIVE_FRAMES 回收頁面時不重設內容，對端的 XDP_TX echo 就地對調過的標頭會被送出去。
 *   xdp_drop    XDP 的上限：在接收端每個封包計數後 XDP_DROP（每 CPU 計數器）。
 *   xdp_pass    只計數、XDP_PASS：讓封包照常進核心堆疊。
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} livegen_cnt SEC(".maps");

/* 定速：interval_ns 由使用者空間設定；next = 下一個該送的時間（0 = 第一個封包時開始）；sent = 送出數 */
struct pace {
	__u64 interval_ns;
	__u64 next;
	__u64 sent;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pace);
} livegen_pace SEC(".maps");

#define HDR_LEN 42 /* 乙太網路 + IPv4 + UDP 標頭 */
struct hdr {
	__u8 b[HDR_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hdr);
} livegen_hdr SEC(".maps");

static __always_inline void count(void)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&livegen_cnt, &k);

	if (v)
		*v += 1;
}

SEC("xdp")
int livegen_tx(struct xdp_md *ctx)
{
	return XDP_TX;
}

/* 只在一個 CPU 上由 test_run 執行，不需要原子操作。落後超過 1 ms 就從現在重新起算（不補送成一批） */
SEC("xdp")
int livegen_paced(struct xdp_md *ctx)
{
	__u32 k = 0;
	struct pace *p = bpf_map_lookup_elem(&livegen_pace, &k);
	__u64 now = bpf_ktime_get_ns();

	struct hdr *h = bpf_map_lookup_elem(&livegen_hdr, &k);
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;

	if (!p || !h || p->interval_ns == 0 || data + HDR_LEN > end)
		return XDP_DROP;
	if (p->next == 0 || now > p->next + 1000000)
		p->next = now;
	if (now < p->next)
		return XDP_DROP;
	p->next += p->interval_ns;
	p->sent += 1;
	__builtin_memcpy(data, h->b, HDR_LEN);
	return XDP_TX;
}

SEC("xdp")
int xdp_drop(struct xdp_md *ctx)
{
	count();
	return XDP_DROP;
}

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	count();
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";

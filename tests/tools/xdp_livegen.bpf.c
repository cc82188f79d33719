// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_livegen.bpf.c — 測試用的三個小 XDP 程式（給 tests/tools/xdp_livegen.cpp 用）
 *
 *   livegen_tx  產生器：bpf_prog_test_run_opts(BPF_F_TEST_XDP_LIVE_FRAMES) 把一個樣板訊框
 *               重複執行 repeat 次，每次回傳 XDP_TX，核心就把它當成真的封包從 ingress 介面送出
 *               （veth 會把它交給另一端）。速度遠高於任何 socket 發送端。
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

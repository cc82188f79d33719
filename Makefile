# Kernel Bypass 技術實作套件 — Makefile
#
# 每個程式各自偵測它的函式庫（pkg-config --exists）；缺什麼就用中文說明缺什麼、
# 哪個 Debian 套件提供，然後跳過它，其餘照常編譯。`make help` 列出所有目標。

SHELL      := /bin/bash
CXX        ?= g++
CLANG      ?= clang
PKG_CONFIG ?= pkg-config

WARNINGS   := -Wall -Wextra -Wpedantic
CXXFLAGS   ?= -O2 -g
CXXFLAGS   += -std=c++20 $(WARNINGS)
# 兩種 sanitizer 版本：ASan + UBSan（預設），只有 UBSan（DPDK：EAL 自己管理 hugepage 記憶體，與 ASan 的影子記憶體衝突）
SAN_COMMON := -std=c++20 $(WARNINGS) -O1 -g -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_FLAGS  := $(SAN_COMMON) -fsanitize=address,undefined
UBSAN_FLAGS := $(SAN_COMMON) -fsanitize=undefined
BPF_CFLAGS := -O2 -g -Wall -target bpf -I/usr/include/$$(uname -m)-linux-gnu
SAN_DIR    := build/sanitize
TOOLS_DIR  := build/tools
HUGEPAGES  ?= 256

PROGRAMS := io_uring_async af_xdp_socket dpdk_packet_processing rdma_communication

# have：pkg-config 找得到模組，而且原始檔存在；have_cmd：指令存在（沒有指定指令時算有）
have = $(if $(wildcard $(2)),$(shell $(PKG_CONFIG) --exists $(1) 2>/dev/null && echo yes))
have_cmd = $(if $(1),$(shell command -v $(1) >/dev/null && echo yes),yes)

# 缺少時的中文說明：$(call skip,程式,模組,套件)
skip = echo "略過 $(1)：找不到 $(2)（請安裝 Debian 套件 $(3)，或執行 make install-deps）"

.PHONY: all io_uring af_xdp dpdk rdma tools sanitize clean help check-deps install-deps \
        setup-hugepages demo docs test test-full bench

all: io_uring af_xdp dpdk rdma tools

# ---------------------------------------------------------------- 四個程式：同一個樣板
# $(call program,程式,make 群組目標,pkg-config 模組,Debian 套件,sanitizer 旗標,另外需要的指令)
# 找得到函式庫：編出 程式 與 build/sanitize/程式；找不到：群組目標印出中文說明後略過，其他程式照常編譯。
define program
HAVE_$(2) := $$(and $$(call have,$(3),$(1).cpp),$$(call have_cmd,$(6)))
ifeq ($$(HAVE_$(2)),yes)
$(2): $(1)
$(1): $(1).cpp
	$$(CXX) $$(CXXFLAGS) $$$$($$(PKG_CONFIG) --cflags $(3)) -o $$@ $$< $$$$($$(PKG_CONFIG) --libs $(3))
$$(SAN_DIR)/$(1): $(1).cpp | $$(SAN_DIR)
	$$(CXX) $(5) $$$$($$(PKG_CONFIG) --cflags $(3)) -o $$@ $$< $$$$($$(PKG_CONFIG) --libs $(3))
SAN_TARGETS += $$(SAN_DIR)/$(1)
else
$(2) $(1):
	@$$(call skip,$(1),$(3)$(if $(6), 或 $(6)),$(4))
endif
endef

$(eval $(call program,io_uring_async,io_uring,liburing,liburing-dev,$(SAN_FLAGS),))
$(eval $(call program,af_xdp_socket,af_xdp,libxdp libbpf,libxdp-dev libbpf-dev clang,$(SAN_FLAGS),$(CLANG)))
$(eval $(call program,dpdk_packet_processing,dpdk,libdpdk,libdpdk-dev,$(UBSAN_FLAGS),))
$(eval $(call program,rdma_communication,rdma,libibverbs librdmacm,libibverbs-dev librdmacm-dev,$(SAN_FLAGS),))

# AF_XDP 還要 XDP 程式本身（clang 編成 BPF 目的檔）
ifeq ($(HAVE_af_xdp),yes)
af_xdp: xdp_redirect.bpf.o
xdp_redirect.bpf.o: xdp_redirect.bpf.c
	$(CLANG) $(BPF_CFLAGS) -c -o $@ $<
endif

# ---------------------------------------------------------------- 測試用的對照程式（tests/tools/*.cpp）
# 對照組（epoll echo server、AF_PACKET 收發器、封包產生器、rte_flow 測試用的 udp_burst）只給測試與效能比較用。
TOOLS := $(TOOLS_DIR)/epoll_echo $(TOOLS_DIR)/udp_echo_ref $(TOOLS_DIR)/udp_echo_client $(TOOLS_DIR)/udp_burst
$(TOOLS_DIR)/%: tests/tools/%.cpp | $(TOOLS_DIR)
	$(CXX) $(CXXFLAGS) -o $@ $<
ifeq ($(HAVE_af_xdp),yes)
TOOLS += $(patsubst tests/tools/%.cpp,$(TOOLS_DIR)/%,$(wildcard tests/tools/af_packet_peer.cpp tests/tools/xdp_livegen.cpp))
TOOLS += $(patsubst tests/tools/%.c,$(TOOLS_DIR)/%.o,$(wildcard tests/tools/*.bpf.c))
$(TOOLS_DIR)/xdp_livegen: tests/tools/xdp_livegen.cpp | $(TOOLS_DIR)
	$(CXX) $(CXXFLAGS) $$($(PKG_CONFIG) --cflags libxdp libbpf) -o $@ $< $$($(PKG_CONFIG) --libs libxdp libbpf)
$(TOOLS_DIR)/%.bpf.o: tests/tools/%.bpf.c | $(TOOLS_DIR)
	$(CLANG) $(BPF_CFLAGS) -c -o $@ $<
endif
tools: $(TOOLS)

$(SAN_DIR) $(TOOLS_DIR):
	@mkdir -p $@

# ---------------------------------------------------------------- 共用目標
# SAN_PROGS 可以只選部分程式（run_tests.sh 只跑某些群組時用）：make sanitize SAN_PROGS=io_uring_async
SAN_PROGS ?= $(PROGRAMS)
SAN_SELECTED := $(filter $(addprefix $(SAN_DIR)/,$(SAN_PROGS)),$(SAN_TARGETS))
sanitize: $(SAN_SELECTED)
	@echo "已建置 ASan + UBSan 版本於 $(SAN_DIR)/：$(notdir $(SAN_SELECTED))"
	@echo "（DPDK 只建 UBSan 版：EAL 自己管理 hugepage 記憶體，和 ASan 的影子記憶體衝突）"

# 套件清單：程式、測試與效能比較用到的一切
DEB_PACKAGES := build-essential g++ make pkg-config \
  liburing-dev \
  libxdp-dev libbpf-dev bpftool clang llvm \
  libdpdk-dev dpdk-dev librte-net-null23 librte-net-ring23 librte-net-pcap23 \
  librte-net-af-packet23 librte-net-af-xdp23 librte-net-tap23 librte-mempool-ring23 \
  rdma-core ibverbs-providers libibverbs-dev librdmacm-dev ibverbs-utils rdmacm-utils perftest \
  qemu-system-x86 busybox-static cpio kmod \
  iproute2 iputils-ping procps psmisc util-linux ethtool netcat-openbsd tcpdump strace linux-perf \
  gnuplot-nox fonts-wqy-microhei python3 python3-scapy shellcheck

install-deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then echo "所有相依套件都已安裝。"; exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then echo "需要 root 權限安裝：$$missing（請以 root 或 sudo 執行 make install-deps）"; exit 1; fi; \
	echo "將安裝：$$missing"; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -q && apt-get install -y -q --no-install-recommends $$missing

check-deps:
	@printf '%-12s %-14s %s\n' "函式庫" "版本" "Debian 套件"; \
	rc=0; \
	for row in "liburing:liburing-dev" "libxdp:libxdp-dev" "libbpf:libbpf-dev" "libdpdk:libdpdk-dev" \
	           "libibverbs:libibverbs-dev" "librdmacm:librdmacm-dev"; do \
	  lib=$${row%%:*}; pkg=$${row#*:}; \
	  ver=$$($(PKG_CONFIG) --modversion $$lib 2>/dev/null) || { ver="缺少"; rc=1; }; \
	  printf '%-12s %-14s %s\n' "$$lib" "$$ver" "$$pkg"; \
	done; \
	for row in "clang:clang" "dpdk-testpmd:dpdk-dev" "ib_write_lat:perftest" "qemu-system-x86_64:qemu-system-x86" "busybox:busybox-static" "gnuplot:gnuplot-nox"; do \
	  cmd=$${row%%:*}; pkg=$${row#*:}; \
	  if command -v $$cmd >/dev/null; then ver="有"; else ver="缺少"; rc=1; fi; \
	  printf '%-12s %-14s %s\n' "$$cmd" "$$ver" "$$pkg"; \
	done; \
	if [ $$rc != 0 ]; then echo "有相依項目缺少：執行 make install-deps（需要 root）"; fi; exit $$rc

setup-hugepages:
	@if [ "$$(id -u)" != 0 ]; then echo "需要 root 權限設定 hugepage 與 bpffs"; exit 1; fi
	@if ! mountpoint -q /dev/hugepages; then mkdir -p /dev/hugepages && mount -t hugetlbfs nodev /dev/hugepages && echo "已掛載 hugetlbfs 於 /dev/hugepages"; else echo "hugetlbfs 已掛載於 /dev/hugepages"; fi
	@if ! mountpoint -q /sys/fs/bpf; then mount -t bpf bpf /sys/fs/bpf && echo "已掛載 bpffs 於 /sys/fs/bpf"; else echo "bpffs 已掛載於 /sys/fs/bpf"; fi
	@cur=$$(cat /proc/sys/vm/nr_hugepages); \
	if [ "$$cur" -lt $(HUGEPAGES) ]; then echo $(HUGEPAGES) > /proc/sys/vm/nr_hugepages; fi; \
	echo "2 MiB hugepage：原有 $$cur 頁，現在 $$(cat /proc/sys/vm/nr_hugepages) 頁（目標 $(HUGEPAGES)），空閒 $$(grep HugePages_Free /proc/meminfo | awk '{print $$2}') 頁"

demo:
	@bash tests/demo.sh

# 指南引用的程式碼從原始碼的錨點（// 8< 名稱 … // >8 名稱）重新填入
docs:
	@python3 tests/doc_quotes.py update docs/kernel-bypass-guide.md .

test:
	@./run_tests.sh
test-full:
	@./run_tests.sh -f
bench:
	@./run_tests.sh -p

clean:
	rm -f $(PROGRAMS) xdp_redirect.bpf.o
	rm -rf build

help:
	@echo "Kernel Bypass 技術實作套件 — make 目標"
	@echo "  make all              編譯所有找得到函式庫的程式（缺的會說明並略過）"
	@echo "  make io_uring_async   編譯 io_uring TCP echo 伺服器與負載客戶端"
	@echo "  make af_xdp           編譯 af_xdp_socket 與 XDP 程式 xdp_redirect.bpf.o"
	@echo "  make dpdk             編譯 dpdk_packet_processing"
	@echo "  make rdma             編譯 rdma_communication"
	@echo "  make tools            編譯測試用的對照程式（epoll echo、AF_PACKET 收發器等）"
	@echo "  make sanitize         建置 ASan + UBSan 版本到 $(SAN_DIR)/（測試會使用）"
	@echo "  make check-deps       列出函式庫與工具的版本，缺少時回傳非零"
	@echo "  make install-deps     安裝所有需要的 Debian 套件（root）"
	@echo "  make setup-hugepages  掛載 hugetlbfs 與 bpffs，保留 HUGEPAGES=$(HUGEPAGES) 個 2 MiB 頁（root）"
	@echo "  make demo             從零開始：安裝、編譯、實際執行每個程式並列出摘要（root）"
	@echo "  make docs             從原始碼的錨點更新 docs/kernel-bypass-guide.md 裡的程式碼引用"
	@echo "  make test / test-full / bench   等同 ./run_tests.sh、./run_tests.sh -f、./run_tests.sh -p"
	@echo "  make clean            刪除編譯產物"

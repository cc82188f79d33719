# Kernel Bypass 技術實作套件 — Makefile
#
# 每個程式各自偵測它的函式庫（pkg-config --exists）；缺什麼就用中文說明缺什麼、
# 哪個 Debian 套件提供，然後跳過它，其餘照常編譯。`make help` 列出所有目標。

SHELL      := /bin/bash
CXX        ?= g++
CLANG      ?= clang
PKG_CONFIG ?= pkg-config

CXXFLAGS   ?= -O2 -g
CXXFLAGS   += -std=c++20 -Wall -Wextra -Wpedantic
SAN_FLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
SAN_DIR    := build/sanitize
TOOLS_DIR  := build/tools
HUGEPAGES  ?= 256

PROGRAMS := io_uring_async af_xdp_socket dpdk_packet_processing rdma_communication

# 每個程式：它要的 pkg-config 模組，以及提供它們的 Debian 套件
IO_URING_PC  := liburing
IO_URING_PKG := liburing-dev
AF_XDP_PC    := libxdp libbpf
AF_XDP_PKG   := libxdp-dev libbpf-dev clang
DPDK_PC      := libdpdk
DPDK_PKG     := libdpdk-dev
RDMA_PC      := libibverbs librdmacm
RDMA_PKG     := libibverbs-dev librdmacm-dev

# have：pkg-config 找得到模組，而且原始檔存在
have = $(if $(wildcard $(2)),$(shell $(PKG_CONFIG) --exists $(1) 2>/dev/null && echo yes))
HAVE_IO_URING := $(call have,$(IO_URING_PC),io_uring_async.cpp)
HAVE_AF_XDP   := $(and $(call have,$(AF_XDP_PC),af_xdp_socket.cpp),$(shell command -v $(CLANG) >/dev/null && echo yes))
HAVE_DPDK     := $(call have,$(DPDK_PC),dpdk_packet_processing.cpp)
HAVE_RDMA     := $(call have,$(RDMA_PC),rdma_communication.cpp)

# 缺少時的中文說明：$(call skip,程式,模組,套件)
skip = echo "略過 $(1)：找不到 $(2)（請安裝 Debian 套件 $(3)，或執行 make install-deps）"

.PHONY: all io_uring af_xdp dpdk rdma tools sanitize clean help check-deps install-deps \
        setup-hugepages demo docs test test-full bench

all: io_uring_async af_xdp dpdk rdma tools

# ---------------------------------------------------------------- io_uring
ifeq ($(HAVE_IO_URING),yes)
io_uring: io_uring_async
io_uring_async: io_uring_async.cpp
	$(CXX) $(CXXFLAGS) $$($(PKG_CONFIG) --cflags $(IO_URING_PC)) -o $@ $< $$($(PKG_CONFIG) --libs $(IO_URING_PC))
$(SAN_DIR)/io_uring_async: io_uring_async.cpp | $(SAN_DIR)
	$(CXX) -std=c++20 -Wall -Wextra -Wpedantic $(SAN_FLAGS) $$($(PKG_CONFIG) --cflags $(IO_URING_PC)) -o $@ $< $$($(PKG_CONFIG) --libs $(IO_URING_PC))
SAN_TARGETS += $(SAN_DIR)/io_uring_async
else
io_uring io_uring_async:
	@$(call skip,io_uring_async,$(IO_URING_PC),$(IO_URING_PKG))
endif

# ---------------------------------------------------------------- AF_XDP
ifeq ($(HAVE_AF_XDP),yes)
af_xdp: af_xdp_socket xdp_redirect.bpf.o
af_xdp_socket: af_xdp_socket.cpp
	$(CXX) $(CXXFLAGS) $$($(PKG_CONFIG) --cflags $(AF_XDP_PC)) -o $@ $< $$($(PKG_CONFIG) --libs $(AF_XDP_PC))
xdp_redirect.bpf.o: xdp_redirect.bpf.c
	$(CLANG) -O2 -g -Wall -target bpf -I/usr/include/$$(uname -m)-linux-gnu -c -o $@ $<
$(SAN_DIR)/af_xdp_socket: af_xdp_socket.cpp | $(SAN_DIR)
	$(CXX) -std=c++20 -Wall -Wextra -Wpedantic $(SAN_FLAGS) $$($(PKG_CONFIG) --cflags $(AF_XDP_PC)) -o $@ $< $$($(PKG_CONFIG) --libs $(AF_XDP_PC))
SAN_TARGETS += $(SAN_DIR)/af_xdp_socket
else
af_xdp af_xdp_socket:
	@$(call skip,af_xdp_socket,$(AF_XDP_PC) 或 clang,$(AF_XDP_PKG))
endif

# ---------------------------------------------------------------- DPDK
ifeq ($(HAVE_DPDK),yes)
dpdk: dpdk_packet_processing
dpdk_packet_processing: dpdk_packet_processing.cpp
	$(CXX) $(CXXFLAGS) $$($(PKG_CONFIG) --cflags $(DPDK_PC)) -o $@ $< $$($(PKG_CONFIG) --libs $(DPDK_PC))
# DPDK 只建 UBSan 版（不加 ASan：EAL 自己管理 hugepage 記憶體，與 ASan 的影子記憶體衝突）
$(SAN_DIR)/dpdk_packet_processing: dpdk_packet_processing.cpp | $(SAN_DIR)
	$(CXX) -std=c++20 -Wall -Wextra -Wpedantic -O1 -g -fno-omit-frame-pointer -fsanitize=undefined -fno-sanitize-recover=undefined $$($(PKG_CONFIG) --cflags $(DPDK_PC)) -o $@ $< $$($(PKG_CONFIG) --libs $(DPDK_PC))
SAN_TARGETS += $(SAN_DIR)/dpdk_packet_processing
else
dpdk dpdk_packet_processing:
	@$(call skip,dpdk_packet_processing,$(DPDK_PC),$(DPDK_PKG))
endif

# ---------------------------------------------------------------- RDMA
ifeq ($(HAVE_RDMA),yes)
rdma: rdma_communication
rdma_communication: rdma_communication.cpp
	$(CXX) $(CXXFLAGS) $$($(PKG_CONFIG) --cflags $(RDMA_PC)) -o $@ $< $$($(PKG_CONFIG) --libs $(RDMA_PC))
$(SAN_DIR)/rdma_communication: rdma_communication.cpp | $(SAN_DIR)
	$(CXX) -std=c++20 -Wall -Wextra -Wpedantic $(SAN_FLAGS) $$($(PKG_CONFIG) --cflags $(RDMA_PC)) -o $@ $< $$($(PKG_CONFIG) --libs $(RDMA_PC))
SAN_TARGETS += $(SAN_DIR)/rdma_communication
else
rdma rdma_communication:
	@$(call skip,rdma_communication,$(RDMA_PC),$(RDMA_PKG))
endif

# ---------------------------------------------------------------- 測試用的對照程式（tests/tools/*.cpp）
# 對照組（epoll echo server、AF_PACKET 收發器、封包產生器）只給測試與效能比較用。
TOOLS := $(TOOLS_DIR)/epoll_echo
$(TOOLS_DIR)/epoll_echo: tests/tools/epoll_echo.cpp | $(TOOLS_DIR)
	$(CXX) $(CXXFLAGS) -o $@ $<
ifeq ($(HAVE_AF_XDP),yes)
TOOLS += $(patsubst tests/tools/%.cpp,$(TOOLS_DIR)/%,$(wildcard tests/tools/af_packet_peer.cpp tests/tools/xdp_livegen.cpp))
TOOLS += $(patsubst tests/tools/%.c,$(TOOLS_DIR)/%.o,$(wildcard tests/tools/xdp_livegen.bpf.c))
$(TOOLS_DIR)/af_packet_peer: tests/tools/af_packet_peer.cpp | $(TOOLS_DIR)
	$(CXX) $(CXXFLAGS) -o $@ $<
$(TOOLS_DIR)/xdp_livegen: tests/tools/xdp_livegen.cpp | $(TOOLS_DIR)
	$(CXX) $(CXXFLAGS) $$($(PKG_CONFIG) --cflags $(AF_XDP_PC)) -o $@ $< $$($(PKG_CONFIG) --libs $(AF_XDP_PC))
$(TOOLS_DIR)/xdp_livegen.bpf.o: tests/tools/xdp_livegen.bpf.c | $(TOOLS_DIR)
	$(CLANG) -O2 -g -Wall -target bpf -I/usr/include/$$(uname -m)-linux-gnu -c -o $@ $<
endif
tools: $(TOOLS)

$(SAN_DIR) $(TOOLS_DIR):
	@mkdir -p $@

# ---------------------------------------------------------------- 共用目標
sanitize: $(SAN_TARGETS)
	@echo "已建置 ASan + UBSan 版本於 $(SAN_DIR)/：$(notdir $(SAN_TARGETS))"
	@echo "（DPDK 只建 UBSan 版：EAL 自己管理 hugepage 記憶體，和 ASan 的影子記憶體衝突）"

# 套件清單：程式、測試與效能比較用到的一切
DEB_PACKAGES := build-essential g++ make pkg-config \
  liburing-dev \
  libxdp-dev libbpf-dev bpftool clang llvm \
  libdpdk-dev dpdk-dev librte-net-null23 librte-net-ring23 librte-net-pcap23 \
  librte-net-af-packet23 librte-net-af-xdp23 librte-mempool-ring23 \
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

// SPDX-License-Identifier: GPL-2.0
/*
 * rig_peek: let the rig's tests probe kernel addresses without oopsing.
 *
 * /sys/kernel/debug/rig_peek/phys    write a physical address: selects its
 *                                     linear-map address (__va)
 * /sys/kernel/debug/rig_peek/addr    write/read the kernel virtual address
 * /sys/kernel/debug/rig_peek/peek    read 8 bytes there with
 *                                     copy_from_kernel_nofault(): the value in
 *                                     hex, or -EFAULT if nothing is mapped
 * /sys/kernel/debug/rig_peek/ptpages the page-table pages below the PGD that
 *                                     map the linear map and the vmemmap, per
 *                                     level: kernel-only, unlike PageTables in
 *                                     /proc/meminfo which also counts the
 *                                     page tables of processes. The tables
 *                                     right below the PGD, which the series
 *                                     never frees, are counted apart on
 *                                     "REGION-top N" lines
 * /sys/kernel/debug/rig_peek/kpgd    the kernel's top-level entries for the
 *                                     linear map, the vmemmap and (KASAN) the
 *                                     shadow, as the reading process's PGD
 *                                     holds them (copied from swapper_pg_dir
 *                                     when the process was forked): a line
 *                                     "REGION INDEX VALUE" per entry, and a
 *                                     line "stale INDEX ..." for each entry
 *                                     that differs in PID 1's PGD, copied at
 *                                     boot. With the series an entry is
 *                                     filled at boot or by hot-add, and
 *                                     then never changes.
 * /sys/kernel/debug/rig_peek/toplayout what the top-level entries cover:
 *                                     "linear PHYS SIZE" (the linear map's
 *                                     first entry maps PHYS, each maps SIZE)
 *                                     and "vmemmap PHYS SIZE" (the first
 *                                     vmemmap entry holds the struct pages
 *                                     of memory from PHYS, each of SIZE)
 * /sys/kernel/debug/rig_peek/kleaf   how the kernel address selected with phys
 *                                     or addr is mapped, walking the kernel
 *                                     half of the reading process's PGD: the
 *                                     leaf level (pgd, p4d, pud, pmd or pte),
 *                                     LEVEL-invalid for an entry without the
 *                                     valid bit (debug_pagealloc's unmapped
 *                                     pages), or none
 * /sys/kernel/debug/rig_peek/uleaf   write a user virtual address of the
 *                                     writing process, read back how it is
 *                                     mapped there: the leaf level (pte, pmd,
 *                                     pud or none) and "devmap" when the leaf
 *                                     has the devmap bit, else "-"
 * /sys/kernel/debug/rig_peek/kfence  (CONFIG_KFENCE) the physical address and
 *                                     the size of the KFENCE pool, in hex, or
 *                                     "none" before it is allocated
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/kasan.h>
#include <linux/kfence.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/uaccess.h>
#include <linux/pgtable.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
#include <linux/seq_file.h>
#include <linux/sizes.h>
#include <asm/page.h>

static unsigned long peek_addr;
static struct dentry *dir;

static ssize_t phys_write(struct file *file, const char __user *buf, size_t count, loff_t *ppos)
{
	u64 phys;
	int ret = kstrtou64_from_user(buf, count, 0, &phys);

	if (ret)
		return ret;
	peek_addr = (unsigned long)__va(phys);
	return count;
}

static ssize_t addr_write(struct file *file, const char __user *buf, size_t count, loff_t *ppos)
{
	u64 addr;
	int ret = kstrtou64_from_user(buf, count, 0, &addr);

	if (ret)
		return ret;
	peek_addr = addr;
	return count;
}

static ssize_t addr_read(struct file *file, char __user *buf, size_t count, loff_t *ppos)
{
	char tmp[24];
	int len = scnprintf(tmp, sizeof(tmp), "0x%lx\n", peek_addr);

	return simple_read_from_buffer(buf, count, ppos, tmp, len);
}

static ssize_t peek_read(struct file *file, char __user *buf, size_t count, loff_t *ppos)
{
	char tmp[24];
	u64 val;
	int len;

	if (*ppos)
		return 0;
	if (copy_from_kernel_nofault(&val, (void *)peek_addr, sizeof(val)))
		return -EFAULT;
	len = scnprintf(tmp, sizeof(tmp), "0x%016llx\n", val);
	return simple_read_from_buffer(buf, count, ppos, tmp, len);
}

struct pt_count {
	unsigned long p4d, pud, pmd, pte, top;
};

/* Tables are walked without locks: the tests read this with no hotplug running. */
static void count_pmd(pmd_t *pmdp, struct pt_count *c)
{
	int i;

	c->pmd++;
	for (i = 0; i < PTRS_PER_PMD; i++) {
		pmd_t pmd = READ_ONCE(pmdp[i]);

		if (pmd_present(pmd) && !pmd_leaf(pmd))
			c->pte++;
	}
}

static void count_pud(pud_t *pudp, struct pt_count *c)
{
	int i;

	c->pud++;
	for (i = 0; i < PTRS_PER_PUD; i++) {
		pud_t pud = READ_ONCE(pudp[i]);

		/*
		 * The walk is long on Sv57 under KASAN (tens of seconds on a
		 * loaded TCG host): let the single vCPU's RCU and others run.
		 */
		cond_resched();

		if (pud_present(pud) && !pud_leaf(pud))
			count_pmd(pud_pgtable(pud), c);
	}
}

static void count_p4d(p4d_t *p4dp, struct pt_count *c)
{
	int i;

	c->p4d++;
	for (i = 0; i < PTRS_PER_P4D; i++) {
		p4d_t p4d = READ_ONCE(p4dp[i]);

		if (p4d_present(p4d) && !(p4d_val(p4d) & _PAGE_LEAF))
			count_pud((pud_t *)pfn_to_virt(_p4d_pfn(p4d)), c);
	}
}

/*
 * init_mm is not exported: walk the kernel half of the reading process's PGD,
 * a copy of swapper_pg_dir's (with the series, hot-add copies the entries it
 * fills into every PGD).
 */
static void count_range(unsigned long start, unsigned long end, struct pt_count *c)
{
	unsigned long addr;

	for (addr = start; addr - 1 < end - 1; addr += PGDIR_SIZE) {
		pgd_t pgd = READ_ONCE(*pgd_offset_pgd(current->active_mm->pgd, addr));
		void *next;

		/* pgd_present() folds (always true) on Sv39 and Sv48: raw bits */
		if (!(pgd_val(pgd) & _PAGE_PRESENT) || (pgd_val(pgd) & _PAGE_LEAF))
			continue;
		next = pfn_to_virt(_pgd_pfn(pgd));
		/* The table right below the PGD counts as "top", not its level */
		c->top++;
		if (pgtable_l5_enabled) {
			count_p4d(next, c);
			c->p4d--;
		} else if (pgtable_l4_enabled) {
			count_pud(next, c);
			c->pud--;
		} else {
			count_pmd(next, c);
			c->pmd--;
		}
	}
}

static int ptpages_show(struct seq_file *m, void *v)
{
	struct pt_count lin = { 0 }, vmm = { 0 };

	count_range(PAGE_OFFSET, PAGE_OFFSET + KERN_VIRT_SIZE - SZ_4G, &lin);
	count_range(VMEMMAP_START, VMEMMAP_END, &vmm);
	seq_printf(m, "linear p4d %lu pud %lu pmd %lu pte %lu\n", lin.p4d, lin.pud, lin.pmd, lin.pte);
	seq_printf(m, "vmemmap p4d %lu pud %lu pmd %lu pte %lu\n", vmm.p4d, vmm.pud, vmm.pmd, vmm.pte);
	seq_printf(m, "linear-top %lu\nvmemmap-top %lu\n", lin.top, vmm.top);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(ptpages);

static int toplayout_show(struct seq_file *m, void *v)
{
	seq_printf(m, "linear 0x%llx 0x%llx\n", (unsigned long long)__pa(PAGE_OFFSET),
		   (unsigned long long)PGDIR_SIZE);
	seq_printf(m, "vmemmap 0x%llx 0x%llx\n", (unsigned long long)PFN_PHYS(vmemmap_start_pfn),
		   (unsigned long long)(PGDIR_SIZE / sizeof(struct page)) << PAGE_SHIFT);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(toplayout);

static void kpgd_range(struct seq_file *m, const char *name, pgd_t *init_pgd,
		       unsigned long start, unsigned long end)
{
	unsigned long addr;

	for (addr = start & PGDIR_MASK; addr - 1 < end - 1; addr += PGDIR_SIZE) {
		pgd_t pgd = READ_ONCE(*pgd_offset_pgd(current->active_mm->pgd, addr));

		seq_printf(m, "%s %lu %016lx\n", name, pgd_index(addr), pgd_val(pgd));
		if (init_pgd) {
			pgd_t old = READ_ONCE(*pgd_offset_pgd(init_pgd, addr));

			if (pgd_val(old) != pgd_val(pgd))
				seq_printf(m, "stale %lu pid1 %016lx now %016lx\n",
					   pgd_index(addr), pgd_val(old), pgd_val(pgd));
		}
		if (addr + PGDIR_SIZE < addr)
			break;
	}
}

static int kpgd_show(struct seq_file *m, void *v)
{
	struct task_struct *init;
	struct mm_struct *mm = NULL;
	struct pid *pid;

	pid = find_get_pid(1);
	init = pid ? get_pid_task(pid, PIDTYPE_PID) : NULL;
	put_pid(pid);
	if (init) {
		mm = get_task_mm(init);
		put_task_struct(init);
	}
	kpgd_range(m, "linear", mm ? mm->pgd : NULL, PAGE_OFFSET, PAGE_OFFSET + KERN_VIRT_SIZE - SZ_4G);
	kpgd_range(m, "vmemmap", mm ? mm->pgd : NULL, VMEMMAP_START, VMEMMAP_END);
#ifdef CONFIG_KASAN
	kpgd_range(m, "kasan", mm ? mm->pgd : NULL, KASAN_SHADOW_START, KASAN_SHADOW_END);
#endif
	if (mm)
		mmput(mm);
	else
		seq_puts(m, "# no mm for PID 1: stale entries not checked\n");
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(kpgd);

static unsigned long uleaf_addr;

static ssize_t uleaf_write(struct file *file, const char __user *buf, size_t count, loff_t *ppos)
{
	int ret = kstrtoul_from_user(buf, count, 0, &uleaf_addr);

	return ret ? ret : count;
}

static ssize_t uleaf_read(struct file *file, char __user *buf, size_t count, loff_t *ppos)
{
	struct mm_struct *mm = current->mm;
	unsigned long a = uleaf_addr, val = 0;
	const char *level = "none";
	pgd_t *pgd;
	p4d_t *p4d;
	pud_t *pud;
	pmd_t *pmd;
	pte_t *pte;
	char tmp[32];
	int len;

	if (*ppos || !mm)
		return 0;
	mmap_read_lock(mm);
	pgd = pgd_offset(mm, a);
	if (pgd_none(READ_ONCE(*pgd)))
		goto out;
	p4d = p4d_offset(pgd, a);
	if (p4d_none(READ_ONCE(*p4d)))
		goto out;
	pud = pud_offset(p4d, a);
	if (pud_none(READ_ONCE(*pud)))
		goto out;
	if (pud_leaf(READ_ONCE(*pud))) {
		level = "pud";
		val = pud_val(READ_ONCE(*pud));
		goto out;
	}
	pmd = pmd_offset(pud, a);
	if (pmd_none(READ_ONCE(*pmd)))
		goto out;
	if (pmd_leaf(READ_ONCE(*pmd))) {
		level = "pmd";
		val = pmd_val(READ_ONCE(*pmd));
		goto out;
	}
	pte = pte_offset_map(pmd, a);
	val = pte_val(READ_ONCE(*pte));
	pte_unmap(pte);
	if (val & _PAGE_PRESENT)
		level = "pte";
out:
	mmap_read_unlock(mm);
#ifdef CONFIG_ARCH_HAS_PTE_DEVMAP
	len = scnprintf(tmp, sizeof(tmp), "%s %s\n", level, pte_devmap(__pte(val)) ? "devmap" : "-");
#else
	len = scnprintf(tmp, sizeof(tmp), "%s -\n", level);
#endif
	return simple_read_from_buffer(buf, count, ppos, tmp, len);
}

/* What an entry of a level says: none, invalid, a leaf, or NULL: go down. */
static const char *kleaf_entry(unsigned long v, const char *const name[2])
{
	if (!v)
		return "none";
	if (!(v & _PAGE_PRESENT))
		return name[1];
	return v & _PAGE_LEAF ? name[0] : NULL;
}

static const char *const kl_pgd[2] = { "pgd", "pgd-invalid" };
static const char *const kl_p4d[2] = { "p4d", "p4d-invalid" };
static const char *const kl_pud[2] = { "pud", "pud-invalid" };
static const char *const kl_pmd[2] = { "pmd", "pmd-invalid" };

/*
 * Walked without locks, like ptpages: read with no hotplug running. Entries
 * are tested for the valid bit itself: pte_present() is also true for kernel
 * PTEs that debug_pagealloc unmapped (_PAGE_GLOBAL is _PAGE_PROT_NONE).
 */
static const char *kleaf_level(unsigned long a)
{
	pgd_t *pgdp = pgd_offset_pgd(current->active_mm->pgd, a);
	const char *r = kleaf_entry(pgd_val(READ_ONCE(*pgdp)), kl_pgd);
	p4d_t *p4dp;
	pud_t *pudp;
	pmd_t *pmdp;
	unsigned long v;

	if (r)
		return r;
	/* Folded levels (Sv39: no P4D and PUD, Sv48: no P4D) are the PGD */
	p4dp = p4d_offset(pgdp, a);
	r = pgtable_l5_enabled ? kleaf_entry(p4d_val(READ_ONCE(*p4dp)), kl_p4d) : NULL;
	if (r)
		return r;
	pudp = pud_offset(p4dp, a);
	r = pgtable_l4_enabled ? kleaf_entry(pud_val(READ_ONCE(*pudp)), kl_pud) : NULL;
	if (r)
		return r;
	pmdp = pmd_offset(pudp, a);
	r = kleaf_entry(pmd_val(READ_ONCE(*pmdp)), kl_pmd);
	if (r)
		return r;
	v = pte_val(READ_ONCE(*pte_offset_kernel(pmdp, a)));
	if (!v)
		return "none";
	return v & _PAGE_PRESENT ? "pte" : "pte-invalid";
}

static ssize_t kleaf_read(struct file *file, char __user *buf, size_t count, loff_t *ppos)
{
	char tmp[16];
	int len = scnprintf(tmp, sizeof(tmp), "%s\n", kleaf_level(peek_addr));

	return simple_read_from_buffer(buf, count, ppos, tmp, len);
}

static const struct file_operations kleaf_fops = {
	.read = kleaf_read,
	.llseek = noop_llseek,
};

static const struct file_operations uleaf_fops = {
	.read = uleaf_read,
	.write = uleaf_write,
	.llseek = noop_llseek,
};

static const struct file_operations phys_fops = {
	.write = phys_write,
	.llseek = noop_llseek,
};

static const struct file_operations addr_fops = {
	.read = addr_read,
	.write = addr_write,
	.llseek = noop_llseek,
};

static const struct file_operations peek_fops = {
	.read = peek_read,
	.llseek = noop_llseek,
};

#ifdef CONFIG_KFENCE
static int kfence_show(struct seq_file *m, void *v)
{
	if (__kfence_pool)
		seq_printf(m, "0x%llx 0x%lx\n", (unsigned long long)__pa(__kfence_pool),
			   (unsigned long)KFENCE_POOL_SIZE);
	else
		seq_puts(m, "none\n");
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(kfence);
#endif

static int __init rig_peek_init(void)
{
	dir = debugfs_create_dir("rig_peek", NULL);
	debugfs_create_file("phys", 0200, dir, NULL, &phys_fops);
	debugfs_create_file("addr", 0600, dir, NULL, &addr_fops);
	debugfs_create_file("peek", 0400, dir, NULL, &peek_fops);
	debugfs_create_file("ptpages", 0400, dir, NULL, &ptpages_fops);
	debugfs_create_file("uleaf", 0600, dir, NULL, &uleaf_fops);
	debugfs_create_file("kleaf", 0400, dir, NULL, &kleaf_fops);
	debugfs_create_file("kpgd", 0400, dir, NULL, &kpgd_fops);
	debugfs_create_file("toplayout", 0400, dir, NULL, &toplayout_fops);
#ifdef CONFIG_KFENCE
	debugfs_create_file("kfence", 0400, dir, NULL, &kfence_fops);
#endif
	return 0;
}

static void __exit rig_peek_exit(void)
{
	debugfs_remove_recursive(dir);
}

module_init(rig_peek_init);
module_exit(rig_peek_exit);
MODULE_DESCRIPTION("riscv-mhp rig: fault-safe reads of kernel addresses");
MODULE_LICENSE("GPL");

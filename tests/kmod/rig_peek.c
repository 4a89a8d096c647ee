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
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/uaccess.h>
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

static int __init rig_peek_init(void)
{
	dir = debugfs_create_dir("rig_peek", NULL);
	debugfs_create_file("phys", 0200, dir, NULL, &phys_fops);
	debugfs_create_file("addr", 0600, dir, NULL, &addr_fops);
	debugfs_create_file("peek", 0400, dir, NULL, &peek_fops);
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

/* rtc.h - the MC146818 CMOS real-time clock at ports 0x70/0x71. */
#ifndef BERTH_VM_DEV_RTC_H
#define BERTH_VM_DEV_RTC_H

#include "lib/err.h"

struct vm;
struct rtc;

int rtc_attach(struct vm *vm, struct rtc **out, struct err *e);
void rtc_free(struct rtc *r);

#endif

#include "CConcurrencyHook.h"

// Declared by the Swift runtime (swift/Runtime/Concurrency.h) as a function pointer; only its address is
// needed here, so a `void *` declaration of the same symbol is enough. Weak, so a runtime without the hook
// links and the proxy keeps Swift's own executor.
extern void *swift_task_enqueueGlobal_hook __attribute__((weak));

void **cconcurrency_enqueue_global_hook_address(void) {
    return &swift_task_enqueueGlobal_hook;
}

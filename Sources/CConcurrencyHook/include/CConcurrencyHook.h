#ifndef CCONCURRENCYHOOK_H
#define CCONCURRENCYHOOK_H

/// The address of the Swift runtime's `swift_task_enqueueGlobal_hook` variable, or NULL when the runtime
/// has none. Taken at link time: `dlsym` cannot find it in an executable linked with the static Swift
/// runtime, whose symbols are not exported.
void *_Nullable *_Nullable cconcurrency_enqueue_global_hook_address(void);

#endif

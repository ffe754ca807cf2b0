# motia-python-guide.txt, "Infrastructure Configuration" (Python): InfrastructureConfig,
# HandlerConfig and QueueConfig objects.
from motia import StepConfig, EventTrigger, InfrastructureConfig, HandlerConfig, QueueConfig, FlowContext, step_wrapper


# -- stand-in for a helper the spec calls but does not define ------------------------
PROCESSED = []


async def process_large_file(data):
    PROCESSED.append(data)
# --------------------------------------------------------------------------------------


config = StepConfig(
    name="heavy-processing",
    triggers=[
        EventTrigger(subscribes=["data.uploaded"])
    ],
    infrastructure=InfrastructureConfig(
        handler=HandlerConfig(
            ram=512,      # 512 MB memory
            cpu=2,        # 2 CPU cores
            timeout=300   # 5 minute timeout
        ),
        queue=QueueConfig(
            type="fifo",                  # FIFO queue (or "standard")
            max_retries=5,                # Retry 5 times on failure
            concurrency=10,               # Process 10 messages concurrently
            backoff_type="exponential",   # "fixed" or "exponential" retry backoff
            backoff_delay_ms=1000,        # Initial backoff delay (1 second)
            visibility_timeout=60,        # 1 minute visibility timeout
            delay_seconds=10              # 10 second initial delay
        )
    )
)

async def handler(data, ctx: FlowContext):
    # Heavy processing logic
    await process_large_file(data)

step_wrapper(config, __file__, handler)

# motia-python-guide.txt, "Event Steps" (Python): EventTrigger(subscribes=[...]).
from motia import StepConfig, EventTrigger, FlowContext, step_wrapper


# -- stand-in for a helper the spec calls but does not define ------------------------
SENT = []


async def send_email(to, subject):
    SENT.append((to, subject))
# --------------------------------------------------------------------------------------


config = StepConfig(
    name="send-welcome-email",
    triggers=[
        EventTrigger(subscribes=["user.created"])
    ]
)

async def handler(data, ctx: FlowContext):
    ctx.logger.info(f"Sending welcome email to {data['email']}")
    await send_email(data['email'], "Welcome!")

step_wrapper(config, __file__, handler)

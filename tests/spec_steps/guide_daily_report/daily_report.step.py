# motia-python-guide.txt, "Cron Steps" (Python): CronTrigger and ctx.emit.
from motia import StepConfig, CronTrigger, FlowContext, step_wrapper


# -- stand-in for a helper the spec calls but does not define ------------------------
async def generate_daily_report():
    return {"orders": 42, "revenue": 1234.5}
# --------------------------------------------------------------------------------------


config = StepConfig(
    name="daily-report",
    triggers=[
        CronTrigger(cron="0 9 * * *")  # Every day at 9 AM
    ],
    emits=["report.generated"]
)

async def handler(data, ctx: FlowContext):
    report = await generate_daily_report()
    await ctx.emit("report.generated", report)
    ctx.logger.info("Daily report generated")

step_wrapper(config, __file__, handler)

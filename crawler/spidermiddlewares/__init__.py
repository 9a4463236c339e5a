"""Spider middlewares: what a callback yields is checked here, so the spider only says what it wants to follow.

Like Scrapy's OffsiteMiddleware and DepthMiddleware, each drops the requests past its limit, and in the place
of a dropped request sends on the FetchFailure that records why (once, not for every link to the same thing).
"""
